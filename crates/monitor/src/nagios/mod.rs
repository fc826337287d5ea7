//! Nagios Core 4 backend: commands through the external command FIFO, state from status.dat
//! and objects.cache, confirmation by reading status.dat back.
