//go:build !libbpf || !cgo

package bench

import (
	"errors"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// HaveLibbpf reports whether this build has the libbpf path (build tag
// libbpf, cgo, Debian's libbpf-dev).
const HaveLibbpf = false

// ErrNoLibbpf is what the libbpf path returns in builds without it.
var ErrNoLibbpf = errors.New("built without libbpf: go run -tags libbpf ./examples/bench")

func openLibbpf(*producer.Producer, Config, time.Duration) (reader, error) {
	return nil, ErrNoLibbpf
}
