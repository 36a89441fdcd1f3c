package splice_test

import (
	"testing"

	"github.com/splicekit/splice/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }
