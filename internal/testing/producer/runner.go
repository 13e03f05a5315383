//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// runner runs the program: what a Producer and a Runner in another process
// share.
type runner struct {
	prog   *ebpf.Program
	budget *ebpf.Map // samples each CPU may still emit (see producer.bpf.c)
}

func (p runner) runN(cpu, n int) error {
	// A socket filter test run needs at least an Ethernet header of input.
	var pkt [64]byte
	for n > 0 {
		chunk := min(n, runChunk)
		// The budget makes a run emit exactly chunk samples even when the
		// kernel restarts it after a signal.
		if err := p.budget.Update(uint32(cpu), uint64(chunk), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("producer: set the budget of CPU %d: %w", cpu, err)
		}
		if _, err := p.prog.Run(&ebpf.RunOptions{Data: pkt[:], Repeat: uint32(chunk)}); err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("producer: test run (needs CAP_BPF or CAP_SYS_ADMIN): %w", err)
			}
			return fmt.Errorf("producer: test run: %w", err)
		}
		n -= chunk
	}
	return nil
}

// RunHere runs the program n times on the calling thread, like Run, for a
// caller that has locked its goroutine to its thread and pinned the thread
// to cpu.
func (p *Producer) RunHere(cpu, n int) error {
	if p.closed.Load() {
		return errClosed
	}
	return p.runner.runHere(cpu, n)
}

func (p runner) runHere(cpu, n int) error {
	if n < 0 || cpu < 0 {
		return fmt.Errorf("producer: RunHere on CPU %d, %d times", cpu, n)
	}
	return p.runN(cpu, n)
}

// Files returns new descriptors of the program and its budget map, for a
// Runner in another process (exec.Cmd.ExtraFiles); the caller closes them.
func (p *Producer) Files() (prog, budget *os.File, err error) {
	if p.closed.Load() {
		return nil, nil, errClosed
	}
	dup := func(fd int, name string) (*os.File, error) {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("producer: duplicate the %s descriptor: %w", name, err)
		}
		return os.NewFile(uintptr(nfd), name), nil
	}
	if prog, err = dup(p.prog.FD(), "program"); err != nil {
		return nil, nil, err
	}
	if budget, err = dup(p.budget.FD(), "budget"); err != nil {
		prog.Close()
		return nil, nil, err
	}
	return prog, budget, nil
}

// Runner runs a Producer's program in another process, one that got the
// descriptors of Producer.Files: a producer whose CPU time is not the
// consumer's process's. Attempted and Dropped stay with the Producer.
type Runner struct {
	r runner
}

// NewRunner takes over the descriptors of Producer.Files, as the other
// process got them (for ExtraFiles, 3 and 4).
func NewRunner(prog, budget int) (*Runner, error) {
	pr, err := ebpf.NewProgramFromFD(prog)
	if err != nil {
		return nil, fmt.Errorf("producer: program from descriptor: %w", err)
	}
	m, err := ebpf.NewMapFromFD(budget)
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("producer: budget map from descriptor: %w", err)
	}
	return &Runner{runner{prog: pr, budget: m}}, nil
}

// RunHere is Producer.RunHere.
func (r *Runner) RunHere(cpu, n int) error { return r.r.runHere(cpu, n) }

// Close releases the program and the map.
func (r *Runner) Close() error {
	return errors.Join(r.r.prog.Close(), r.r.budget.Close())
}
