//! Offline discovery: the Applications Argo CD will generate from the ApplicationSets.
//! STUB: to be written.

/// One generated Argo CD Application, reduced to what rendering and the rules need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// `<env>-<component>`.
    pub name: String,
    /// The ApplicationSet file that generated it.
    pub appset: String,
    /// The component.yaml it came from.
    pub component_file: String,
    pub env: String,
    pub namespace: String,
    /// `spec.sources[chart].path`, a repository path.
    pub chart: String,
    pub release: String,
    /// The value files in order as repository paths (`$values/` removed), present or not.
    pub value_files: Vec<String>,
    /// `metadata.labels` of the Application.
    pub labels: std::collections::BTreeMap<String, String>,
    /// The whole rendered Application, as Argo CD would create it.
    pub manifest: serde_yaml::Value,
}
