package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// childEnv carries a live producer's parameters to the process that runs it
// (see startProducer): "cpu rate burst events".
const childEnv = "BPFSTREAM_BENCH_PRODUCER"

// RunProducerChild runs the paced producer of a live measurement and exits
// when this process was started as one; otherwise it returns at once. The
// command's main and the tests' TestMain call it first.
func RunProducerChild() {
	spec, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	cpu, err := producerChild(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench producer:", err)
		os.Exit(1)
	}
	fmt.Println(cpu.Nanoseconds())
	os.Exit(0)
}

// producerChild paces the producer on the descriptors the parent passed (3:
// program, 4: budget map) and returns the process's CPU time.
func producerChild(spec string) (time.Duration, error) {
	var cpu, rate, burst, events int
	if _, err := fmt.Sscan(spec, &cpu, &rate, &burst, &events); err != nil {
		return 0, fmt.Errorf("%s=%q: %w", childEnv, spec, err)
	}
	// Every thread on the producer's CPU, so that none takes the
	// consumer's.
	var set unix.CPUSet
	set.Set(cpu)
	if err := setAll(&set); err != nil {
		return 0, err
	}
	r, err := producer.NewRunner(3, 4)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	// Set up; the parent closes stdin when it has taken its first reading.
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return 0, err
	}
	if err := paceBursts(r, cpu, rate, burst, events); err != nil {
		return 0, err
	}
	return processCPU()
}

// paceBursts emits events records in bursts of burst, one every burst/rate
// seconds. It sleeps with clock_nanosleep to absolute deadlines; a burst
// that is late goes out at once, so the rate holds on average.
func paceBursts(r *producer.Runner, cpu, rate, burst, events int) error {
	// The default slack of 50 µs would shift bursts 64 µs apart.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	interval := time.Duration(float64(burst) / float64(rate) * float64(time.Second))
	var start unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &start); err != nil {
		return err
	}
	for i, left := int64(0), events; left > 0; i++ {
		deadline := unix.NsecToTimespec(start.Nano() + i*int64(interval))
		for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &deadline, nil) == unix.EINTR {
		}
		n := min(burst, left)
		if err := r.RunHere(cpu, n); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// childProducer is a paced producer running in a process of its own.
type childProducer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser // closed to start producing
	out    io.ReadCloser
	stderr bytes.Buffer
}

// startProducer starts the paced producer of cfg in a new process of this
// executable (see RunProducerChild): its CPU time, and the Go runtime's work
// around its sleeps, stay out of the consumer's process.
func startProducer(p *producer.Producer, cfg LiveConfig) (*childProducer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find the executable to run the producer: %w", err)
	}
	prog, budget, err := p.Files()
	if err != nil {
		return nil, err
	}
	defer prog.Close()
	defer budget.Close()
	// -test.run=^$: a test binary whose TestMain does not call
	// RunProducerChild then runs no test (and fails the measurement)
	// instead of running its tests again.
	c := &childProducer{cmd: exec.Command(exe, "-test.run=^$")}
	c.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %d %d", childEnv, cfg.ProducerCPU, cfg.Rate, max(cfg.Burst, 1), cfg.events()))
	c.cmd.ExtraFiles = []*os.File{prog, budget}
	c.cmd.Stderr = &c.stderr
	if c.out, err = c.cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("bench: producer: %w", err)
	}
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("bench: producer: %w", err)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the producer: %w", err)
	}
	return c, nil
}

// start tells the producer to start: it has set up and waits for it.
func (c *childProducer) start() error {
	if err := c.in.Close(); err != nil {
		c.kill()
		return fmt.Errorf("bench: start the producer: %w", err)
	}
	return nil
}

// kill ends a producer that is not needed.
func (c *childProducer) kill() {
	_ = c.cmd.Process.Kill()
	_, _ = c.wait()
}

// wait waits for the producer to finish (reading its output, through the
// runtime's poller) and returns its CPU time.
func (c *childProducer) wait() (time.Duration, error) {
	out, readErr := io.ReadAll(c.out)
	err := errors.Join(readErr, c.cmd.Wait())
	if err != nil {
		return 0, fmt.Errorf("bench: producer: %w: %s", err, strings.TrimSpace(c.stderr.String()))
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: producer output %q (does the executable's main or TestMain call bench.RunProducerChild first?): %w", out, err)
	}
	return time.Duration(ns), nil
}
