//! Helpers shared by the CLI integration tests.

use std::path::Path;

/// One record of a synthetic population for `ridgeline dedup --input`. `person_id` and
/// `name` go into the CSV as given (quoted there if they need it).
pub struct PopulationRecord<'a> {
    pub record: &'a str,
    pub person: u64,
    pub person_id: &'a str,
    pub name: &'a str,
    pub impression: u32,
}

/// Writes fingers 2 and 7 of synthetic person `r.person` (impression `r.impression`:
/// synth-crate fingers `2·person + 1` and `2·person + 2` of `seed`) as `.rlt` files in `dir`
/// and appends their manifest lines.
pub fn add_record(dir: &Path, manifest: &mut String, seed: u64, r: &PopulationRecord<'_>) {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    for (k, position) in [2u8, 7].into_iter().enumerate() {
        let template = ridgeline_synth::templates::generate(
            seed,
            r.person * 2 + k as u64 + 1,
            r.impression,
            &config,
        )
        .expect("synthetic template");
        let file = format!("{}_{position}.rlt", r.record);
        std::fs::write(dir.join(&file), template.to_native_bytes().expect("encodes"))
            .expect("write template");
        manifest.push_str(&format!("{},{},{},{position},{file}\n", r.record, r.person_id, r.name));
    }
}
