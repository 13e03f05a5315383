// Package core holds the types shared by the transport, perfbuf and ringbuf
// packages. It lives below all of them so that perfbuf and ringbuf need not
// import transport (which imports both to open a consumer by map type);
// transport re-exports every name here with a type alias.
package core
