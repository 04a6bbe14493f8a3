// Package wordnet reads WordNet 3.0 (Princeton University; WordNet 3.0 licence, free for any use with
// the copyright notice) converted by Convert into three small text files, and answers the lexical
// questions the NLI features ask: are two words synonyms, antonyms, or is one a hypernym of the other?
// Words are reduced to their base forms with WordNet's own morphy rules and exception lists. `make models`
// installs the database (Debian package wordnet-base) and converts it; nothing here downloads anything.
package wordnet
