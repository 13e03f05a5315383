package transporttest

import "strings"

// producerError is an error of the program that runs a KernelProducer,
// reworded for the caller: the internal names it carries mean nothing to
// the caller. It still matches what the original matched.
type producerError struct {
	msg string
	err error
}

func (e *producerError) Error() string { return e.msg }
func (e *producerError) Unwrap() error { return e.err }

// reword strips the internal producer's prefixes and capability hints from
// err's text (core.WrapPermission names the capabilities).
func reword(err error) error {
	msg := err.Error()
	for _, internal := range []string{
		"producer: ",
		" (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)",
		" (needs CAP_BPF or CAP_SYS_ADMIN)",
	} {
		msg = strings.ReplaceAll(msg, internal, "")
	}
	return &producerError{msg, err}
}
