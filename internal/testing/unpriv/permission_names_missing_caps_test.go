package unpriv_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/unpriv"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// exampleCaps is the exact set the examples (bpf.Open and a consumer) need
// as a user other than root, in setpriv's names, with the name a permission
// error gives each when it is missing.
var exampleCaps = []struct{ setpriv, name string }{
	{"bpf", "CAP_BPF (or CAP_SYS_ADMIN)"},
	{"perfmon", "CAP_PERFMON (or CAP_SYS_ADMIN)"},
	{"dac_read_search", "CAP_DAC_READ_SEARCH (read access to tracefs; or CAP_DAC_OVERRIDE, or uid 0)"},
}

// TestPermissionNamesMissing runs the reference programs as nobody holding
// exactly exampleCaps (every program opens and attaches), then lacking each
// of them in turn: every program then fails with an error that matches
// transport.ErrPermission and names exactly the missing capability.
func TestPermissionNamesMissing(t *testing.T) {
	if unpriv.Child() {
		capsChild(t)
		return
	}
	privileged.MountTracefs(t)
	for skip := -1; skip < len(exampleCaps); skip++ {
		var caps []string
		name := "all"
		for i, c := range exampleCaps {
			if i == skip {
				name = "without_" + c.setpriv
				continue
			}
			caps = append(caps, c.setpriv)
		}
		t.Run(name, func(t *testing.T) {
			out := unpriv.RunCaps(t, "TestPermissionNamesMissing", caps, time.Minute)
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "permission_names_missing_caps_test.go") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}

func capsChild(t *testing.T) {
	id, err := unpriv.Self()
	if err != nil {
		t.Fatal(err)
	}
	kept := unpriv.Caps()
	t.Logf("uid %d, CapEff %#x, kept %v", id.UID, id.CapEff, kept)
	if id.UID != unpriv.Nobody {
		t.Fatalf("child runs as uid %d", id.UID)
	}
	var missing string
	for _, c := range exampleCaps {
		held := false
		for _, k := range kept {
			held = held || k == c.setpriv
		}
		if !held {
			missing = c.name
		}
	}
	for _, p := range []bpf.Program{bpf.PerfbufOutput, bpf.RingbufOutput, bpf.RingbufReserveSubmit} {
		e, err := bpf.Open(p, bpf.Options{})
		if err == nil {
			e.Close()
		}
		checkPerm(t, "bpf.Open("+p.String()+")", missing, err)
	}
	// A perf buffer needs CAP_PERFMON in the reader, whatever else it holds.
	if missing == exampleCaps[1].name {
		pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
		if err != nil {
			t.Fatalf("create a perf event array with CAP_BPF: %v", err)
		}
		defer pb.Close()
		c, err := perfbuf.New(pb, perfbuf.Options{})
		if err == nil {
			c.Close()
		}
		checkPerm(t, "perfbuf.New", missing, err)
	}
}

// checkPerm checks err: nil when missing is empty, else a permission error
// naming missing (and only it) as missing.
func checkPerm(t *testing.T, op, missing string, err error) {
	t.Helper()
	switch {
	case missing == "" && err != nil:
		t.Errorf("%s with every capability it needs: %v", op, err)
	case missing == "":
		t.Logf("%s: ok", op)
	case err == nil:
		t.Errorf("%s succeeded without %s", op, missing)
	case !errors.Is(err, transport.ErrPermission):
		t.Errorf("%s: %v: does not match transport.ErrPermission", op, err)
	case !strings.Contains(err.Error(), "missing "+missing+";"):
		t.Errorf("%s: %v: does not name exactly %s as missing", op, err, missing)
	default:
		t.Logf("%s: %v", op, err)
	}
}
