// Package readme holds the checks of the repository's README.md: its code
// fences balance, so that every section renders, and its Go snippets
// compile against the current API. It has no code of its own.
package readme
