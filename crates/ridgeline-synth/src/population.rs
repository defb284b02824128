//! A synthetic population for de-duplication at template level: people with one or two
//! fingers, registered once, plus planted duplicates (registered again under a new identity
//! number with re-captured prints, re-captured under the same number, or copied between
//! systems) and identity noise that is not a duplicate (a number typed under someone else's
//! fingers, numbers with typos), with the ground truth to score a de-duplication report
//! against. `ridgeline demo` and `ridgeline bench dedup` run on it.

use std::collections::{HashMap, HashSet};

use ridgeline::dedup::make_id_number;
use ridgeline::dedup::{RecordInfo, Report};
use ridgeline::Template;

use crate::error::{Error, Result};
use crate::templates::{TemplateMaster, RECAPTURE_ATTEMPTS};
use ridgeline::gallery::MIN_ENROL_MINUTIAE;

/// Share of people registered a second time.
pub const DUPLICATE_SHARE: f64 = 0.03;
/// Share of people whose record carries a number typed from someone else (not a duplicate).
pub const WRONG_ID_SHARE: f64 = 0.005;
/// Share of people whose identity number has a typo (invalid checksum).
pub const TYPO_SHARE: f64 = 0.005;
/// Finger positions every person gives, in order (ISO: 2 right index, 7 left index).
pub const FINGER_POSITIONS: [u8; 2] = [2, 7];

/// How a duplicate was planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planted {
    /// Registered again under a new identity number, prints re-captured.
    NewIdRecaptured,
    /// Registered again under the same number, prints re-captured.
    SameIdRecaptured,
    /// The same record copied from another system (identical templates).
    Copied,
}

/// A synthetic population with its ground truth.
#[derive(Debug)]
pub struct SynthPopulation {
    /// Identity of every record.
    pub infos: Vec<RecordInfo>,
    /// Templates of every record, by finger position.
    pub templates: Vec<Vec<(u8, Template)>>,
    /// Person behind every record.
    pub person_of: Vec<u32>,
    /// Planted duplicate pairs (record indices, a < b) and how.
    pub planted: Vec<(u32, u32, Planted)>,
}

/// A small deterministic stream for the population's choices (SplitMix64, whose output
/// function is [`crate::rng`]'s mixer): one sequence per seed, drawn in plan order.
#[derive(Debug, Clone)]
struct Choices(u64);

impl Choices {
    fn new(seed: u64) -> Self {
        Choices(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next_u64(&mut self) -> u64 {
        let out = crate::rng::mix(self.0);
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

const SURNAMES: [&str; 16] = [
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
    "Zhu", "Hu", "Guo",
];
const GIVEN: [&str; 16] = [
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yan", "Jie", "Tao", "Ming", "Chao",
    "Xiu", "Hui", "Bo",
];

fn person_identity(choices: &mut Choices) -> (String, String) {
    loop {
        let address = 110_000 + choices.below(540_000) as u32;
        let year = 1940 + choices.below(66) as u32;
        let month = 1 + choices.below(12) as u32;
        let day = 1 + choices.below(31) as u32;
        let sequence = choices.below(1000) as u32;
        if let Some(id) = make_id_number(address, year, month, day, sequence) {
            let name = format!(
                "{} {}",
                SURNAMES[choices.below(16) as usize],
                GIVEN[choices.below(16) as usize]
            );
            return (id, name);
        }
    }
}

/// The template of one impression (from 0) of one finger of one person (from 0), from the synth
/// crate's template-level generator.
pub fn finger_template(
    seed: u64,
    person: u32,
    position_index: usize,
    impression: u32,
) -> Result<Template> {
    // The generator numbers fingers and impressions from 1.
    let finger = u64::from(person) * FINGER_POSITIONS.len() as u64 + position_index as u64 + 1;
    // A capture too sparse to enrol is taken again, as a clerk would ask for it.
    TemplateMaster::generate(seed, finger, &TEMPLATE_CONFIG)
        .capture(seed, finger, impression + 1, &TEMPLATE_CONFIG, MIN_ENROL_MINUTIAE)
        .ok_or_else(|| {
            Error::InvalidConfig(format!(
                "finger {finger} impression {} stayed too sparse to enrol after {RECAPTURE_ATTEMPTS} captures",
                impression + 1
            ))
        })
}

/// Template-level synthesis settings of the population.
static TEMPLATE_CONFIG: std::sync::LazyLock<crate::templates::TemplateConfig> =
    std::sync::LazyLock::new(crate::templates::TemplateConfig::default);

/// Synthesises `people` people with `fingers` fingers each (1 or 2) and planted duplicates.
pub fn synth_population(
    seed: u64,
    people: usize,
    fingers: usize,
    duplicate_share: f64,
) -> Result<SynthPopulation> {
    use rayon::prelude::*;
    let fingers = fingers.clamp(1, FINGER_POSITIONS.len());
    let mut choices = Choices::new(seed);
    // Plan every record first (cheap), then synthesise the templates in parallel.
    struct Plan {
        info: RecordInfo,
        person: u32,
        impression: u32,
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(people + people / 20);
    let mut identities = Vec::with_capacity(people);
    for person in 0..people as u32 {
        let (mut id, name) = person_identity(&mut choices);
        if choices.chance(TYPO_SHARE) {
            // Swap two adjacent digits of the sequence number: the checksum catches it.
            let mut bytes = id.into_bytes();
            bytes.swap(14, 15);
            if bytes[14] == bytes[15] {
                bytes[15] = b'0' + (bytes[15] - b'0' + 1) % 10;
            }
            id = String::from_utf8(bytes).unwrap_or_default();
        }
        identities.push((id.clone(), name.clone()));
        plans.push(Plan {
            info: RecordInfo {
                record_id: format!("R{:07}", plans.len()),
                person_id: id,
                name,
                fingers: FINGER_POSITIONS[..fingers].to_vec(),
            },
            person,
            impression: 0,
        });
    }
    let mut planted = Vec::new();
    for person in 0..people as u32 {
        if choices.chance(WRONG_ID_SHARE) && people > 1 {
            // A clerk typed another person's number into this person's record.
            let other = (person as u64 + 1 + choices.below(people as u64 - 1)) % people as u64;
            plans[person as usize].info.person_id = identities[other as usize].0.clone();
        }
        if !choices.chance(duplicate_share) {
            continue;
        }
        let kind = match choices.below(3) {
            0 => Planted::NewIdRecaptured,
            1 => Planted::SameIdRecaptured,
            _ => Planted::Copied,
        };
        let original = &plans[person as usize].info;
        let (person_id, name, impression) = match kind {
            Planted::NewIdRecaptured => {
                let (new_id, _) = person_identity(&mut choices);
                (new_id, original.name.clone(), 1)
            }
            Planted::SameIdRecaptured => (original.person_id.clone(), original.name.clone(), 1),
            Planted::Copied => (original.person_id.clone(), original.name.clone(), 0),
        };
        let index = plans.len() as u32;
        plans.push(Plan {
            info: RecordInfo {
                record_id: format!("R{:07}", index),
                person_id,
                name,
                fingers: FINGER_POSITIONS[..fingers].to_vec(),
            },
            person,
            impression,
        });
        planted.push((person, index, kind));
    }
    let templates: Vec<Vec<(u8, Template)>> = plans
        .par_iter()
        .map(|plan| {
            (0..fingers)
                .map(|k| {
                    Ok((
                        FINGER_POSITIONS[k],
                        finger_template(seed, plan.person, k, plan.impression)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    Ok(SynthPopulation {
        person_of: plans.iter().map(|p| p.person).collect(),
        infos: plans.into_iter().map(|p| p.info).collect(),
        templates,
        planted,
    })
}

/// Found pairs scored against the planted ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Duplicate pairs planted.
    pub planted: usize,
    /// Pairs found.
    pub found: usize,
    /// Found pairs of two records of the same person.
    pub true_pairs: usize,
    /// Found pairs of different people.
    pub false_pairs: usize,
    /// `true_pairs / found`.
    pub precision: f64,
    /// Planted pairs found / planted.
    pub recall: f64,
}

/// Planted pairs the report does not link.
pub fn missed_pairs(population: &SynthPopulation, report: &Report) -> Vec<(u32, u32, Planted)> {
    let linked: HashSet<(&str, &str)> = report
        .clusters
        .iter()
        .flat_map(|c| c.pairs.iter())
        .map(|p| (p.a.as_str().min(p.b.as_str()), p.a.as_str().max(p.b.as_str())))
        .collect();
    population
        .planted
        .iter()
        .filter(|(a, b, _)| {
            let (x, y) = (
                population.infos[*a as usize].record_id.as_str(),
                population.infos[*b as usize].record_id.as_str(),
            );
            !linked.contains(&(x.min(y), x.max(y)))
        })
        .copied()
        .collect()
}

/// Scores the report's linked pairs against the ground truth.
pub fn accuracy(population: &SynthPopulation, report: &Report) -> Accuracy {
    let found = found_pairs(population, report);
    let same_person = |&(a, b): &(u32, u32)| {
        population.person_of.get(a as usize) == population.person_of.get(b as usize)
    };
    let true_pairs = found.iter().filter(|p| same_person(p)).count();
    let planted_found = population
        .planted
        .iter()
        .filter(|(a, b, _)| found.contains(&(*a.min(b), *a.max(b))))
        .count();
    let planted = population.planted.len();
    Accuracy {
        planted,
        found: found.len(),
        true_pairs,
        false_pairs: found.len() - true_pairs,
        precision: if found.is_empty() { 1.0 } else { true_pairs as f64 / found.len() as f64 },
        recall: if planted == 0 { 1.0 } else { planted_found as f64 / planted as f64 },
    }
}

/// The pairs a report links, as population record indices `(a, b)`, `a < b`.
pub fn found_pairs(population: &SynthPopulation, report: &Report) -> HashSet<(u32, u32)> {
    let index: HashMap<&str, u32> = population
        .infos
        .iter()
        .enumerate()
        .map(|(i, r)| (r.record_id.as_str(), i as u32))
        .collect();
    report
        .clusters
        .iter()
        .flat_map(|c| c.pairs.iter())
        .filter_map(|p| Some((*index.get(p.a.as_str())?, *index.get(p.b.as_str())?)))
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planned_capture_is_dense_enough_to_enrol() {
        // Seed 7 (the `bench dedup` default) has fingers whose first capture holds fewer than
        // the minutiae enrolment needs; they are captured again.
        let mut recaptured = 0;
        for person in 0..10_000 {
            for impression in 0..2 {
                let t = finger_template(7, person, 0, impression).expect("synthesised");
                assert!(t.minutiae.len() >= ridgeline::gallery::MIN_ENROL_MINUTIAE);
                let finger = u64::from(person) * FINGER_POSITIONS.len() as u64 + 1;
                let first = crate::templates::generate(7, finger, impression + 1, &TEMPLATE_CONFIG)
                    .expect("synthesised");
                recaptured += usize::from(first != t);
            }
        }
        assert!(recaptured > 0, "no sparse first capture: the test no longer covers recapture");
    }
}
