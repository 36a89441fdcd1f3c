//go:build !linux || splice_portable

package splice_test

import (
	"io"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func checkMethod(t *testing.T, dst io.Writer, src io.Reader, planned splice.Method, sk, dk testutil.Kind, size int) {
}

func watchMethods(dst io.Writer) {}

func checkNoKernelPath(t *testing.T, dst io.Writer) {}
