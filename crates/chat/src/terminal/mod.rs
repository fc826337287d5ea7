//! Terminal chat: stdin lines in, readable messages with stable ids out.
