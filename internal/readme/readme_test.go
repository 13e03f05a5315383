package readme

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const readmePath = "../../README.md"

// fence is one fenced block of the README.
type fence struct {
	line int    // of the opening fence, from 1
	info string // the word after the opening ``` ("go", "sh", or none)
	body string
}

// fences splits the README into its fenced blocks. A line opening or closing
// a fence must be the fence alone (with an optional info word when opening):
// text after a closing fence makes Markdown renderers read the line as the
// opening of another block, which then swallows what follows.
func fences(text string) (out []fence, problems []string) {
	opening := regexp.MustCompile("^```([A-Za-z0-9]*)$")
	var cur *fence
	var body []string
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "```") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if cur == nil {
			m := opening.FindStringSubmatch(trimmed)
			if m == nil {
				problems = append(problems, fmt.Sprintf("README.md:%d: fence %q opens a block with more than an info word after it", i+1, trimmed))
				continue
			}
			cur = &fence{line: i + 1, info: m[1]}
			body = body[:0]
			continue
		}
		if trimmed != "```" {
			problems = append(problems, fmt.Sprintf("README.md:%d: fence %q closes the block opened on line %d with text after it: renderers open a new block there", i+1, trimmed, cur.line))
		}
		cur.body = strings.Join(body, "\n")
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		problems = append(problems, fmt.Sprintf("README.md:%d: fence never closed", cur.line))
	}
	return out, problems
}

// Every fence of the README is closed by a fence alone on its line.
func TestREADMEFencesBalance(t *testing.T) {
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks, problems := fences(string(text))
	for _, p := range problems {
		t.Error(p)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no fenced blocks")
	}
}

// The fence check finds what breaks rendering: text after a closing fence
// (which renderers read as the opening of a new block), and a fence left open.
func TestFenceCheckFindsBrokenFences(t *testing.T) {
	for name, text := range map[string]string{
		"text after closing fence": "```sh\nls\n``` more text\n\n## Section\n",
		"never closed":             "```go\nx := 1\n",
	} {
		if _, problems := fences(text); len(problems) != 1 {
			t.Errorf("%s: %d problems found, want 1: %q", name, len(problems), problems)
		}
	}
	if blocks, problems := fences("```go\nx := 1\n```\n\n```\nout\n```\n"); len(problems) != 0 || len(blocks) != 2 {
		t.Errorf("two good blocks: %d blocks, problems %q", len(blocks), problems)
	}
}

// prelude declares what the README's snippets take as given: the user's
// bpf2go objects, event type, context, consumer and decoder.
const prelude = `
type myObjects struct{ Events, Drops *ebpf.Map }

func (*myObjects) Close() error { return nil }

func loadMyObjects(*myObjects, *ebpf.CollectionOptions) error { return nil }

type myEvent struct {
	Pid  uint32
	Comm [16]byte
}

func runAgent(context.Context, transport.Consumer) error { return nil }

var (
	objs myObjects
	ctx  = context.Background()
	c    transport.Consumer
	err  error
	dec  *event.Decoder[myEvent]
)

var (
	_ = fmt.Sprint
	_ = time.Second
	_ = testing.Short
	_ = bpfstream.Open
	_ = ringbuf.New
	_ = perfbuf.New
	_ = transporttest.NewFake
	_ = metrics.NewCollector
	_ = prometheus.MustRegister
)
`

const imports = `import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)
`

// snippetFile returns the README's Go snippets as one Go file: snippets of
// declarations as they are, snippets of statements each in a function of its
// own. "{ ... }", the README's elided error handling, becomes a panic.
func snippetFile(snippets []fence) string {
	var b strings.Builder
	b.WriteString("package snippets\n\n" + imports + prelude)
	for i, s := range snippets {
		body := strings.ReplaceAll(s.body, "{ ... }", "{ panic(err) }")
		fmt.Fprintf(&b, "\n// README.md:%d\n", s.line)
		if strings.HasPrefix(strings.TrimSpace(body), "func ") {
			b.WriteString(body + "\n")
			continue
		}
		fmt.Fprintf(&b, "func snippet%d() {\n%s\n}\n", i, body)
	}
	return b.String()
}

// The README's Go snippets compile against the current API (with the
// prelude's stand-ins for the user's own objects).
func TestREADMESnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package: skipped with -short")
	}
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks, problems := fences(string(text))
	if len(problems) > 0 {
		t.Fatalf("README.md's fences do not balance: %q", problems)
	}
	var snippets []fence
	for _, f := range blocks {
		if f.info == "go" {
			snippets = append(snippets, f)
		}
	}
	if len(snippets) == 0 {
		t.Fatal("README.md has no Go snippets")
	}
	// Built in place, through an overlay, so that the module resolves
	// its own packages; nothing is written into the tree.
	dir, err := filepath.Abs("snippets")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "snippets.go")
	if err := os.WriteFile(src, []byte(snippetFile(snippets)), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(dir, "snippets.go"): src}})
	if err != nil {
		t.Fatal(err)
	}
	ovl := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", ovl, "./snippets")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README.md's Go snippets do not compile (lines are of the generated file; each snippet starts at a README.md:N comment):\n%s\n%s", out, numbered(snippetFile(snippets)))
	}
}

func numbered(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
	}
	return b.String()
}
