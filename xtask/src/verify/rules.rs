//! The convention rules of `verify`, each reported as a Problem with its fix.
//! STUB: to be written.
