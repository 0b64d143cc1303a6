//! The preview as JSON: `{"base", "applications": [{"name", "env", "change", "objects":
//! [{"apiVersion", "kind", "name", "namespace", "change", "diff"}]}]}`, the shape of the
//! [`super::pipeline::Preview`] type itself, redacted like every output.

use super::pipeline::Preview;

pub fn render(preview: &Preview) -> String {
    let mut text = serde_json::to_string_pretty(preview).expect("a preview serializes");
    text.push('\n');
    text
}
