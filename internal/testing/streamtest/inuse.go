package streamtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/transport"
)

// RequireInUse fails tb unless err refuses a consumer because m is already
// being consumed: it matches transport.ErrInUse and names m (its name and
// kernel map ID).
func RequireInUse(tb testing.TB, err error, m *ebpf.Map) {
	tb.Helper()
	if !errors.Is(err, transport.ErrInUse) {
		tb.Fatalf("error %v does not match transport.ErrInUse", err)
	}
	info, ierr := m.Info()
	if ierr != nil {
		tb.Fatalf("map info: %v", ierr)
	}
	id, _ := info.ID()
	if name := fmt.Sprintf("%q (ID %d)", info.Name, id); !strings.Contains(err.Error(), name) {
		tb.Fatalf("error %q does not name the map %s", err, name)
	}
	tb.Log(err)
}
