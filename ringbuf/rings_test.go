package ringbuf

import (
	"testing"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
)

// TestCheckFlags tests the flag check on a map spec, for kernels that refuse
// to create an overwrite-mode ring (TestOverwriteRingRefused then skips).
func TestCheckFlags(t *testing.T) {
	spec := &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096, Flags: flagOverwrite}
	err := checkFlags(3, spec.Flags)
	require.ErrorIs(t, err, transport.ErrMapType)
	require.ErrorContains(t, err, "BPF_F_RB_OVERWRITE")
	require.ErrorContains(t, err, "map 3")

	spec.Flags = 0
	require.NoError(t, checkFlags(0, spec.Flags))
}
