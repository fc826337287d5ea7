//! Pure parsers for the files Nagios writes (status.dat, objects.cache): text in, domain values
//! out, no I/O, no panics on any input.

pub mod nagios;
