//! Checks of the SVG's ink groups shared by `tests/pipeline.rs` and `tests/pipeline_props.rs`.

use std::collections::BTreeSet;

use gemini3::pipeline::svg::{InkRole, Layer};

/// Checks the ink groups of `svg` against `layers` (`metadata.layers`): the root's element
/// children are all `<g id="ink-rrggbb…">` groups with unique ids; every shape element
/// (`<path>`, `<circle>`, `<ellipse>`, `<rect>`) of the document sits directly in one of them; each group's `data-color` is the paint (`fill`,
/// or `stroke` for the gap filler) of every path in it; translucent groups say so in
/// `data-role` and only they have `fill-opacity`; and `layers` lists exactly these groups,
/// in document order, with their ids, colours and path counts. Returns what is wrong.
pub fn check_groups(svg: &str, layers: &[Layer]) -> Result<(), String> {
    let document = roxmltree::Document::parse(svg).map_err(|e| format!("not XML: {e}"))?;
    let root = document.root_element();
    let groups: Vec<roxmltree::Node> = root.children().filter(|n| n.is_element()).collect();
    if let Some(other) = groups.iter().find(|g| !g.has_tag_name("g")) {
        return Err(format!(
            "<{}> outside the ink groups",
            other.tag_name().name()
        ));
    }
    let ids: Vec<&str> = groups
        .iter()
        .map(|g| g.attribute("id").unwrap_or_default())
        .collect();
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        return Err(format!("group ids repeat: {ids:?}"));
    }
    let listed: Vec<&str> = layers.iter().map(|l| l.id.as_str()).collect();
    if ids != listed {
        return Err(format!("groups {ids:?}, metadata.layers {listed:?}"));
    }
    for (group, layer) in groups.iter().zip(layers) {
        let id = layer.id.as_str();
        let color = group.attribute("data-color").unwrap_or_default();
        let hex = color.strip_prefix('#').unwrap_or_default();
        if color != layer.color || !id.starts_with(&format!("ink-{hex}")) || hex.len() != 6 {
            return Err(format!(
                "{id}: data-color {color:?}, layer colour {}",
                layer.color
            ));
        }
        if hex.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("{id}: colour {color} is not lower case"));
        }
        let translucent = layer.role == InkRole::Translucent;
        if (group.attribute("data-role") == Some("translucent")) != translucent {
            return Err(format!(
                "{id}: data-role {:?}",
                group.attribute("data-role")
            ));
        }
        let paths: Vec<roxmltree::Node> = group.children().filter(|n| n.is_element()).collect();
        if paths.len() != layer.paths || paths.iter().any(|p| !is_shape(p)) {
            return Err(format!(
                "{id}: {} elements, layer says {} paths",
                paths.len(),
                layer.paths
            ));
        }
        for path in paths {
            let paint = match layer.role {
                InkRole::GapFiller => path.attribute("stroke"),
                _ => path.attribute("fill"),
            };
            if paint != Some(color) {
                return Err(format!("{id}: a path painted {paint:?}"));
            }
            if path.has_attribute("fill-opacity") != translucent {
                return Err(format!("{id}: fill-opacity on a {:?} path", layer.role));
            }
        }
    }
    let in_groups: usize = layers.iter().map(|l| l.paths).sum();
    let all = document.descendants().filter(is_shape).count();
    if all != in_groups {
        return Err(format!(
            "{all} paths in the document, {in_groups} in the groups"
        ));
    }
    Ok(())
}

/// A shape element the pipeline writes: `<path>`, `<circle>`, `<ellipse>` or `<rect>`.
fn is_shape(node: &roxmltree::Node) -> bool {
    ["path", "circle", "ellipse", "rect"]
        .iter()
        .any(|tag| node.has_tag_name(*tag))
}
