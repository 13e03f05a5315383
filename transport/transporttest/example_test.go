package transporttest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// countComms is agent code under test: it counts exec events by command name
// until its consumer is closed or ctx ends. It takes a transport.Consumer, so
// production passes a perfbuf or ringbuf consumer and tests pass a Fake.
func countComms(ctx context.Context, c transport.Consumer, counts map[string]int) error {
	return c.Consume(ctx, func(r transport.Record) error {
		// string() copies: the sample is only borrowed.
		counts[string(bytes.TrimRight(r.Sample, "\x00"))]++
		return nil
	})
}

// A test of agent code, without BPF: emit samples, let the agent consume
// them, then shut it down as the agent's owner would.
func ExampleFake() {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	for _, comm := range []string{"bash", "ls", "bash"} {
		_ = fake.Emit([]byte(comm + "\x00\x00\x00"))
	}
	_ = fake.EmitLost(2) // as a kernel reports a full buffer

	counts := map[string]int{}
	done := make(chan error, 1)
	go func() { done <- countComms(context.Background(), fake, counts) }()

	// Wait until the agent has handled every sample, then stop it.
	if err := fake.WaitDelivered(context.Background()); err != nil {
		fmt.Println(err)
	}
	_ = fake.Close()
	err := <-done

	fmt.Println("stopped by Close:", errors.Is(err, transport.ErrClosed))
	fmt.Println("bash:", counts["bash"], "ls:", counts["ls"])
	s := fake.Stats()
	fmt.Println("records:", s.Records, "lost:", s.Lost)
	// Output:
	// stopped by Close: true
	// bash: 2 ls: 1
	// records: 3 lost: 2
}

// The Fake lends bytes as real transports do: a handler that keeps
// Record.Sample instead of copying it sees them overwritten.
func ExampleFake_borrowedBytes() {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	_ = fake.Emit([]byte("hello"))

	var kept, copied []byte
	_ = fake.Consume(context.Background(), func(r transport.Record) error {
		kept = r.Sample                  // bug: borrowed
		copied = bytes.Clone(r.Sample)   // right
		return errors.New("seen enough") // stop consuming
	})
	fmt.Printf("kept: %x\ncopied: %s\n", kept, copied)
	// Output:
	// kept: a5a5a5a5a5
	// copied: hello
}

// myProducer makes samples that start with a little-endian u64 sequence
// number, for a Harness.
type myProducer struct {
	fake *transporttest.Fake
	next uint64
}

func (p *myProducer) Produce(t *testing.T, n int) int {
	for range n {
		_ = p.fake.Emit(binary.LittleEndian.AppendUint64(nil, p.next))
		p.next++
	}
	return n
}

func (p *myProducer) Seq(sample []byte) (uint64, error) {
	if len(sample) < 8 {
		return 0, fmt.Errorf("short sample: %d bytes", len(sample))
	}
	return binary.LittleEndian.Uint64(sample), nil
}

// Run checks a Consumer implementation, here a Fake, against every rule; in
// a test function, t is the test's *testing.T. A consumer that wraps another
// (adding metrics, say) can be checked the same way, wrapping a Fake.
func ExampleRun() {
	var t *testing.T // the test's
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			fake := transporttest.NewFake(transporttest.FakeOptions{})
			return fake, &myProducer{fake: fake}
		},
	})
}

func ExampleFake_EmitValue() {
	// The Go mirror of the program's C struct.
	type execEvent struct {
		Pid  uint32
		Comm [16]byte
	}
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	e := execEvent{Pid: 1234}
	copy(e.Comm[:], "bash")
	_ = fake.EmitValue(e) // the bytes the program would emit: no encoding/binary

	dec, _ := event.NewDecoder[execEvent]()
	h := event.Handler(dec, func(e *execEvent, _ transport.Record) error {
		fmt.Println(e.Pid, string(bytes.TrimRight(e.Comm[:], "\x00")))
		return errors.New("seen enough") // stop consuming
	}, nil)
	_ = fake.Consume(context.Background(), h)
	// Output: 1234 bash
}
