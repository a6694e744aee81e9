//! Being built; see the foundation work.
