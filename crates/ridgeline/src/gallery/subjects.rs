//! Which subject holds which records: the subject index of a snapshot (ids in canonical form,
//! with their records and finger positions), and the per-handle cache of it that person
//! identification and enrolment share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::store::{RecordId, Snapshot};
use crate::error::Result;
use crate::people::canonical_stored;

/// Which subject holds which records, in canonical id form; built once per snapshot.
#[derive(Debug, Default)]
pub struct SubjectIndex {
    pub(crate) generation: u64,
    subjects: HashMap<String, Vec<(RecordId, u8)>>,
    unknown_position: usize,
}

impl SubjectIndex {
    /// Reads the id and finger of every live record of `snapshot`.
    pub fn build(snapshot: &Snapshot) -> Result<SubjectIndex> {
        let per_segment: Vec<Vec<(String, RecordId, u8)>> = snapshot
            .segments()
            .par_iter()
            .map(|s| {
                let seg = s.segment();
                (0..seg.len())
                    .filter(|&i| !s.is_deleted(i))
                    .map(|i| {
                        let (id, finger) = seg.subject(i)?;
                        let record = RecordId { segment: seg.id(), index: i };
                        Ok((canonical_stored(id).into_owned(), record, finger))
                    })
                    .collect()
            })
            .collect::<Result<_>>()?;
        let mut index = SubjectIndex { generation: snapshot.generation(), ..Default::default() };
        for (id, record, finger) in per_segment.into_iter().flatten() {
            index.unknown_position += usize::from(finger == 0);
            index.subjects.entry(id).or_default().push((record, finger));
        }
        Ok(index)
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether no subject is enrolled.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// The live records (and finger positions) of a subject, by canonical id, oldest first.
    pub fn records(&self, subject_id: &str) -> &[(RecordId, u8)] {
        self.subjects.get(subject_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records of unknown finger position (0).
    pub fn unknown_position(&self) -> usize {
        self.unknown_position
    }

    /// Subjects a search with probe fingers at positions `probes` covers: every subject when a
    /// position is unknown (0), else those holding a record some probe finger is compared with.
    pub fn searched_subjects(&self, probes: &[u8]) -> usize {
        if probes.contains(&0) {
            return self.len();
        }
        self.subjects
            .values()
            .filter(|records| {
                records.iter().any(|(_, f)| probes.iter().any(|&p| comparable(p, *f)))
            })
            .count()
    }
}

/// The cache of the subject index of the latest snapshot a gallery searched.
#[derive(Debug, Default)]
pub(crate) struct PersonState {
    pub(crate) index: Mutex<Option<Arc<SubjectIndex>>>,
    /// Serialises person enrolments of this handle: check and commit must see the same
    /// gallery.
    pub(crate) enrol: Mutex<()>,
}

/// Whether probe finger `probe` is compared with a record of position `record`.
pub(crate) fn comparable(probe: u8, record: u8) -> bool {
    probe == 0 || record == 0 || probe == record
}
