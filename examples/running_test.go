package examples_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bpfstream/bpfstream/examples/internal/output"
)

// running is an example started with -json, whose events and stderr lines
// the test reads as they come.
type running struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan output.JSONEvent // closed at EOF on stdout
	url    string                // of the metrics endpoint, with -metrics

	mu     sync.Mutex
	stderr []string
	done   chan struct{} // closed once stdout and stderr are read to EOF
}

// start runs the example bin with args and -json. With -metrics among args,
// it waits for the line that gives the endpoint's address.
func start(t *testing.T, bin string, args ...string) *running {
	t.Helper()
	r := &running{
		t:      t,
		cmd:    exec.Command(filepath.Join(build(t), bin), append(args, "-json")...),
		events: make(chan output.JSONEvent, 1024),
		done:   make(chan struct{}),
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd.Wait()
	})
	urlCh := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(r.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev output.JSONEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("stdout line %q: %v", sc.Text(), err)
				continue
			}
			select {
			case r.events <- ev:
			default: // the test reads only what it needs
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if _, url, ok := strings.Cut(line, ": metrics on "); ok {
				urlCh <- url
			}
			r.mu.Lock()
			r.stderr = append(r.stderr, line)
			r.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		wg.Wait()
		close(r.done)
	}()
	if strings.Contains(strings.Join(args, " "), "-metrics") {
		select {
		case r.url = <-urlCh:
		case <-r.done:
			r.cmd.Wait()
			t.Fatalf("%s exited before serving metrics: %q", bin, r.stderrLines())
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no metrics address on stderr: %q", bin, r.stderrLines())
		}
	}
	return r
}

func (r *running) stderrLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.stderr...)
}

// execUntil execs unique until the example has printed n events for it, and
// returns how many events it read in all.
func (r *running) execUntil(unique string, n int) int {
	r.t.Helper()
	seen, all := 0, 0
	deadline := time.After(30 * time.Second)
	for seen < n {
		if err := exec.Command(unique).Run(); err != nil {
			r.t.Fatal(err)
		}
		for waiting := true; waiting && seen < n; {
			select {
			case ev, ok := <-r.events:
				if !ok {
					r.t.Fatalf("example exited: %q", r.stderrLines())
				}
				all++
				if ev.Filename == unique {
					seen++
				}
			case <-time.After(100 * time.Millisecond):
				waiting = false
			case <-deadline:
				r.t.Fatalf("%d of %d events for %s in 30s", seen, n, unique)
			}
		}
	}
	return all
}

// stop sends SIGINT, and checks that the example exits with status 0 and a
// summary line.
func (r *running) stop() {
	r.t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	for range r.events {
	}
	<-r.done
	if err := r.cmd.Wait(); err != nil {
		r.t.Errorf("exit after SIGINT: %v; stderr %q", err, r.stderrLines())
	}
	lines := r.stderrLines()
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], " received, ") {
		r.t.Errorf("no summary at exit: %q", lines)
	}
}

// scrape GETs the metrics endpoint with a real HTTP client.
func (r *running) scrape() map[string]*dto.MetricFamily {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %s", r.url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		r.t.Fatalf("parse %s: %v", r.url, err)
	}
	return fams
}

// metric returns the value of the one series of name, and its labels as
// name=value,... in order.
func metric(t *testing.T, fams map[string]*dto.MetricFamily, name string) (float64, string) {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("want one %s series, got %v", name, f)
	}
	m := f.GetMetric()[0]
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, l.GetName()+"="+l.GetValue())
	}
	v := m.GetGauge().GetValue()
	if m.GetCounter() != nil {
		v = m.GetCounter().GetValue()
	}
	return v, strings.Join(labels, ",")
}
