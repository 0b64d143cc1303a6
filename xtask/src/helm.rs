//! The one module that calls helm.
