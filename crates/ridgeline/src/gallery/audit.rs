//! The audit trail: an append-only, hash-chained log (`AUDIT` in the gallery folder) of every
//! enrolment, search and its decision, removal, compaction, export and key operation, with the
//! time, the operator the caller named, the subject ids affected and the outcome.
//!
//! A key design decision: **the trail has its own short lock**, an `flock` on the `AUDIT` file
//! held only while one entry is appended, never the writer lock. Read-only openers (searches)
//! therefore append beside a writer that holds the gallery for minutes.
//!
//! Tamper evidence: every entry carries the SHA-256 digest of its own bytes and the digest of
//! the entry before it, so an edited, deleted, inserted or reordered entry breaks the chain at
//! that entry. The chain has no key: someone with write access who rewrites the whole chain
//! from the edit onwards is not detected (`docs/SECURITY.md`).
//!
//! Crash safety: an entry is written with one `write` at the end of the file and then
//! `fdatasync`'d. A torn last entry (the process killed mid-append, a full disk) is reported
//! by [`verify`]; the next append, under the audit lock, cuts it off and records what it cut
//! (a [`Operation::Repair`] entry with the offset, length and SHA-256 of the discarded bytes),
//! so the chain goes on from the last complete entry. A complete entry that fails its digest
//! is never cut off: it is kept as evidence and [`verify`] keeps reporting it.
//!
//! Layout (little-endian; offsets are the constants below, documented in `docs/FORMATS.md`):
//! a 16-byte file header, then entries of a 72-byte fixed part, variable fields and a 36-byte
//! trailer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::seal::{self, GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use super::segment::{get_u16, get_u32, get_u64};
use crate::error::{Error, Result};

/// File name of the audit trail inside the gallery folder.
pub const AUDIT_FILE: &str = "AUDIT";
/// Magic number of the audit trail.
pub(crate) const AUDIT_MAGIC: [u8; 8] = [0x89, b'R', b'L', b'A', b'\r', b'\n', 0x1a, b'\n'];
/// Audit trail format version written by this build.
pub(crate) const AUDIT_VERSION: u16 = 1;

/// File header: magic (8 bytes).
pub(crate) const FILE_OFFSET_MAGIC: usize = 0;
/// File header: format version (u16).
pub(crate) const FILE_OFFSET_VERSION: usize = 8;
/// File header: reserved, zero (6 bytes).
pub(crate) const FILE_OFFSET_RESERVED: usize = 10;
/// Size of the file header; the first entry starts here.
pub(crate) const FILE_HEADER_LEN: usize = 16;

/// Entry: total length of the entry in bytes, trailer included (u32).
pub(crate) const OFFSET_LEN: usize = 0;
/// Entry: sequence number, 0 for the first entry, +1 per entry (u64).
pub(crate) const OFFSET_SEQUENCE: usize = 4;
/// Entry: time, milliseconds since 1970-01-01T00:00:00 UTC (i64).
pub(crate) const OFFSET_TIME: usize = 12;
/// Entry: the gallery's commit generation the operation produced or searched
/// ([`NO_GENERATION`] where none applies) (u64).
pub(crate) const OFFSET_GENERATION: usize = 20;
/// Entry: digest of the previous entry (its trailer digest; zeros for the first) (32 bytes).
pub(crate) const OFFSET_PREVIOUS: usize = 28;
/// Entry: operation code ([`Operation`]) (u8).
pub(crate) const OFFSET_OPERATION: usize = 60;
/// Entry: outcome code ([`Outcome`]) (u8).
pub(crate) const OFFSET_OUTCOME: usize = 61;
/// Entry: bytes of the operator id, 0 when none was given (u16).
pub(crate) const OFFSET_OPERATOR_LEN: usize = 62;
/// Entry: number of subject ids (u32); bit 31 ([`SUBJECTS_SEALED`]) set when they are sealed.
pub(crate) const OFFSET_SUBJECT_COUNT: usize = 64;
/// Flag in the subject-count field: each subject id is stored sealed under the gallery key
/// (an encrypted gallery's trail) as key id (16 bytes), nonce (24), ciphertext, tag (16).
pub(crate) const SUBJECTS_SEALED: u32 = 1 << 31;
/// How a sealed subject id reads back without its key: this prefix, then the stored bytes in
/// hexadecimal ([`unseal_subjects`] decrypts them).
pub(crate) const SEALED_SUBJECT_PREFIX: &str = "sealed:";
/// Associated data of a sealed subject id.
const SUBJECT_AAD: &[u8] = b"ridgeline audit subject id";
/// Entry: bytes of the detail text (u32).
pub(crate) const OFFSET_DETAIL_LEN: usize = 68;
/// Size of an entry's fixed part; the operator id (UTF-8) follows, then each subject id as a
/// u8 length and its UTF-8 bytes, then the detail text (UTF-8).
pub(crate) const ENTRY_FIXED_LEN: usize = 72;
/// Size of an entry's trailer: the entry length again (u32), then the SHA-256 of every byte of
/// the entry before the digest (32 bytes).
pub(crate) const TRAILER_LEN: usize = 36;
/// Smallest possible entry.
pub(crate) const MIN_ENTRY_LEN: usize = ENTRY_FIXED_LEN + TRAILER_LEN;
/// Generation value of an entry to which no gallery generation applies.
pub(crate) const NO_GENERATION: u64 = u64::MAX;
/// Longest operator id in bytes.
pub(crate) const MAX_OPERATOR_LEN: usize = 256;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Operation {
    /// The gallery was created.
    Create = 1,
    /// Records enrolled one by one or as a batch (record level).
    Enrol = 2,
    /// People enrolled (person level, with the duplicate-person check).
    EnrolPerson = 3,
    /// Enrolled people updated (new fingers, re-captures).
    Update = 4,
    /// A subject de-registered.
    Remove = 5,
    /// Segments rewritten without deleted records.
    Compact = 6,
    /// Compaction that also overwrote the old files with zeros.
    Purge = 7,
    /// A record-level search (candidates listed, no decision).
    Identify = 8,
    /// A person-level search and its decision.
    IdentifyPerson = 9,
    /// Records read out of the gallery for use elsewhere.
    Export = 10,
    /// A key operation (encryption keys: set, rotate).
    Key = 11,
    /// A search of the whole population for duplicates.
    Dedup = 12,
    /// The trail itself: a torn last entry cut off.
    Repair = 13,
    /// A commit found without its entry (a writer stopped between commit and append).
    Recovery = 14,
    /// Every record re-prepared for this build's matcher (a gallery of an earlier descriptor
    /// layout, opened).
    Upgrade = 15,
}

impl Operation {
    /// Every operation, in code order.
    pub(crate) const ALL: [Operation; 15] = [
        Operation::Create,
        Operation::Enrol,
        Operation::EnrolPerson,
        Operation::Update,
        Operation::Remove,
        Operation::Compact,
        Operation::Purge,
        Operation::Identify,
        Operation::IdentifyPerson,
        Operation::Export,
        Operation::Key,
        Operation::Dedup,
        Operation::Repair,
        Operation::Recovery,
        Operation::Upgrade,
    ];

    /// The operation of a code.
    pub(crate) fn from_code(code: u8) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| *o as u8 == code)
    }

    /// Name in printed trails and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Enrol => "enrol",
            Operation::EnrolPerson => "enrol_person",
            Operation::Update => "update",
            Operation::Remove => "remove",
            Operation::Compact => "compact",
            Operation::Purge => "purge",
            Operation::Identify => "identify",
            Operation::IdentifyPerson => "identify_person",
            Operation::Export => "export",
            Operation::Key => "key",
            Operation::Dedup => "dedup",
            Operation::Repair => "repair",
            Operation::Recovery => "recovery",
            Operation::Upgrade => "upgrade",
        }
    }

    /// Whether the operation commits a new gallery generation when it succeeds.
    pub(crate) fn commits(self) -> bool {
        matches!(
            self,
            Operation::Create
                | Operation::Enrol
                | Operation::EnrolPerson
                | Operation::Update
                | Operation::Remove
                | Operation::Compact
                | Operation::Purge
                | Operation::Key
                | Operation::Recovery
                | Operation::Upgrade
        )
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Outcome {
    /// The change is committed (generation in the entry).
    Committed = 1,
    /// The request was refused (bad input, already enrolled, duplicate person, damage).
    Refused = 2,
    /// The operation failed (I/O, full disk); nothing was committed.
    Failed = 3,
    /// The search's decision: the subject in the entry matched.
    Matched = 4,
    /// The search's decision: no enrolled subject matched.
    NoMatch = 5,
    /// The candidates or records in the entry were returned, without a decision.
    Listed = 6,
    /// The trail was repaired (see the detail).
    Repaired = 7,
}

impl Outcome {
    /// Every outcome, in code order.
    pub const ALL: [Outcome; 7] = [
        Outcome::Committed,
        Outcome::Refused,
        Outcome::Failed,
        Outcome::Matched,
        Outcome::NoMatch,
        Outcome::Listed,
        Outcome::Repaired,
    ];

    /// The outcome of a code.
    pub(crate) fn from_code(code: u8) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| *o as u8 == code)
    }

    /// Name in printed trails and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Matched => "matched",
            Outcome::NoMatch => "no_match",
            Outcome::Listed => "listed",
            Outcome::Repaired => "repaired",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What was done.
    pub operation: Operation,
    /// How it ended.
    pub outcome: Outcome,
    /// The gallery generation it produced or searched, if any.
    pub generation: Option<u64>,
    /// Subject ids affected (duplicates are recorded once).
    pub subjects: &'a [&'a str],
    /// Free text without personal data beyond the subject ids: counts, error kinds.
    pub detail: &'a str,
}

/// One entry read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the trail (0 = first).
    pub sequence: u64,
    /// Byte offset of the entry in the file.
    pub offset: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: i64,
    /// Gallery generation, if any applies.
    pub generation: Option<u64>,
    /// Operation code as stored (`Operation::from_code`).
    pub operation: u8,
    /// Outcome code as stored (`Outcome::from_code`).
    pub outcome: u8,
    /// The operator the caller named.
    pub operator: Option<String>,
    /// Subject ids affected.
    pub subjects: Vec<String>,
    /// Detail text.
    pub detail: String,
    /// The entry's digest (SHA-256 of its bytes before the digest).
    pub digest: [u8; 32],
}

impl Entry {
    /// The operation's name (`unknown` for a code this build does not know).
    pub fn operation_name(&self) -> &'static str {
        Operation::from_code(self.operation).map_or("unknown", Operation::name)
    }

    /// The outcome's name (`unknown` for a code this build does not know).
    pub fn outcome_name(&self) -> &'static str {
        Outcome::from_code(self.outcome).map_or("unknown", Outcome::name)
    }

    /// The time as ISO 8601 UTC (`2026-12-06T14:33:33.123Z`).
    pub fn time_utc(&self) -> String {
        format_utc(self.time_ms)
    }
}

/// The first thing wrong with a trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// Index of the first bad entry (the number of good entries before it).
    pub index: u64,
    /// Byte offset where it starts.
    pub offset: u64,
    /// Whether it is an incomplete last entry (a torn append) rather than damage or an edit.
    pub torn: bool,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {} (byte offset {}): {}", self.index, self.offset, self.message)
    }
}

/// A trail read and checked.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// The entries before the first problem, in order.
    pub entries: Vec<Entry>,
    /// The first problem, if any.
    pub problem: Option<ChainProblem>,
}

impl AuditReport {
    /// Whether the whole chain checks.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// The audit trail of one gallery, as one opener records to it.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    path: PathBuf,
    operator: Option<String>,
    /// The key that seals subject ids in new entries (an encrypted gallery's).
    key: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<GalleryKey>>>>,
}

/// Checks an operator id: 1–256 bytes of text without control characters.
pub(crate) fn validate_operator(operator: &str) -> Result<()> {
    if operator.is_empty() || operator.len() > MAX_OPERATOR_LEN {
        return Err(Error::InvalidArgument(format!(
            "an operator id has 1 to {MAX_OPERATOR_LEN} bytes, this one {}",
            operator.len()
        )));
    }
    if operator.chars().any(char::is_control) {
        return Err(Error::InvalidArgument("an operator id holds no control characters".into()));
    }
    Ok(())
}

impl AuditTrail {
    /// The trail of the gallery in `dir`, recording `operator` with every entry.
    pub fn new(dir: &Path, operator: Option<&str>) -> Result<AuditTrail> {
        if let Some(op) = operator {
            validate_operator(op)?;
        }
        Ok(AuditTrail {
            path: dir.join(AUDIT_FILE),
            operator: operator.map(str::to_string),
            key: Default::default(),
        })
    }

    /// Seals the subject ids of the entries appended from now on under `key` (`None`: clear).
    pub(crate) fn set_key(&self, key: Option<std::sync::Arc<GalleryKey>>) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = key;
    }

    fn key(&self) -> Option<std::sync::Arc<GalleryKey>> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The trail's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The operator recorded with this opener's entries.
    pub fn operator(&self) -> Option<&str> {
        self.operator.as_deref()
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::AuditTrail { path: self.path.clone(), message: message.into() }
    }

    /// Appends one entry under the trail's own lock; returns its sequence number. Cuts off a
    /// torn last entry first, recording that in an entry of its own.
    pub fn record(&self, event: &Event<'_>) -> Result<u64> {
        let key = self.key();
        let key = key.as_deref();
        let mut file = self.open_locked()?;
        let tail = self.prepare_tail(&mut file)?;
        let (mut sequence, mut previous, end) = (tail.sequence, tail.previous, tail.end);
        let mut bytes = Vec::new();
        if let Some(repair) = &tail.repair {
            let entry = encode_entry_with(
                sequence,
                now_ms(),
                &previous,
                &Event {
                    operation: Operation::Repair,
                    outcome: Outcome::Repaired,
                    generation: None,
                    subjects: &[],
                    detail: repair,
                },
                self.operator.as_deref(),
                key,
            )?;
            previous = digest_of(&entry);
            sequence += 1;
            bytes.extend_from_slice(&entry);
        }
        let entry =
            encode_entry_with(sequence, now_ms(), &previous, event, self.operator.as_deref(), key)?;
        bytes.extend_from_slice(&entry);
        let io = |e| Error::io(&self.path, e);
        file.seek(SeekFrom::Start(end)).map_err(io)?;
        if let Err(e) = file.write_all(&bytes) {
            // Leave no half entry behind where the failure allows it (a full disk).
            let _ = file.set_len(end);
            return Err(Error::io(&self.path, e));
        }
        file.sync_data().map_err(io)?;
        Ok(sequence)
    }

    /// Opens (creating, owner-only, never through a symbolic link) and locks the file.
    fn open_locked(&self) -> Result<File> {
        let mut options = File::options();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW).mode(crate::private_files::PRIVATE_FILE_MODE);
        }
        let file = options.open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        lock_exclusive(&file).map_err(|e| Error::io(&self.path, e))?;
        Ok(file)
    }

    /// Where the next entry goes, with its sequence number and previous digest; writes the
    /// file header of a new trail and truncates a torn tail (returning the repair note).
    fn prepare_tail(&self, file: &mut File) -> Result<Tail> {
        let io = |e| Error::io(&self.path, e);
        let len = file.metadata().map_err(io)?.len();
        if len < FILE_HEADER_LEN as u64 {
            // New, or cut short while its header was written: the header is all there is.
            let mut head = vec![0u8; len as usize];
            file.read_exact(&mut head).map_err(io)?;
            if !file_header().starts_with(&head) {
                return Err(self.error("not a Ridgeline audit trail"));
            }
            file.set_len(0).map_err(io)?;
            file.write_all(&file_header()).map_err(io)?;
            file.sync_data().map_err(io)?;
            return Ok(Tail {
                end: FILE_HEADER_LEN as u64,
                sequence: 0,
                previous: [0; 32],
                repair: None,
            });
        }
        let mut head = [0u8; FILE_HEADER_LEN];
        file.read_exact(&mut head).map_err(io)?;
        check_file_header(&head).map_err(|m| self.error(m))?;
        if len == FILE_HEADER_LEN as u64 {
            return Ok(Tail { end: len, sequence: 0, previous: [0; 32], repair: None });
        }
        if let Some(last) = read_last_entry(file, len).map_err(io)? {
            return Ok(Tail {
                end: len,
                sequence: last.sequence + 1,
                previous: last.digest,
                repair: None,
            });
        }
        // The end is not a complete entry: read the whole trail to find where entries end.
        let mut bytes = Vec::with_capacity(len as usize);
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_to_end(&mut bytes).map_err(io)?;
        let frames = walk_frames(&bytes);
        let last_valid = frames.valid_last;
        let (sequence, previous) = match last_valid {
            Some((sequence, digest)) => (sequence + 1, digest),
            None => (0, [0; 32]),
        };
        match frames.torn_from {
            Some(from) if frames.only_torn_after => {
                let cut = &bytes[from..];
                let note = format!(
                    "cut off an incomplete last entry: {} bytes at offset {from}, sha256 {}",
                    cut.len(),
                    hex(&Sha256::digest(cut))
                );
                file.set_len(from as u64).map_err(io)?;
                file.sync_data().map_err(io)?;
                Ok(Tail { end: from as u64, sequence, previous, repair: Some(note) })
            }
            // Damage that is not a torn tail is kept as evidence; the chain goes on after it.
            _ => Ok(Tail { end: len, sequence, previous, repair: None }),
        }
    }
}

struct Tail {
    end: u64,
    sequence: u64,
    previous: [u8; 32],
    repair: Option<String>,
}

fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[FILE_OFFSET_MAGIC..FILE_OFFSET_MAGIC + 8].copy_from_slice(&AUDIT_MAGIC);
    h[FILE_OFFSET_VERSION..FILE_OFFSET_VERSION + 2].copy_from_slice(&AUDIT_VERSION.to_le_bytes());
    h
}

fn check_file_header(head: &[u8]) -> std::result::Result<(), String> {
    if head.len() < FILE_HEADER_LEN || head[..8] != AUDIT_MAGIC {
        return Err("not a Ridgeline audit trail".into());
    }
    let version = get_u16(head, FILE_OFFSET_VERSION).unwrap_or(0);
    if version != AUDIT_VERSION {
        return Err(format!(
            "audit trail format version {version}; this build writes version {AUDIT_VERSION}"
        ));
    }
    if head[FILE_OFFSET_RESERVED..FILE_HEADER_LEN].iter().any(|&b| b != 0) {
        return Err("reserved header bytes are not zero".into());
    }
    Ok(())
}

/// Serialises one entry with clear subject ids.
#[cfg(test)]
pub(crate) fn encode_entry(
    sequence: u64,
    time_ms: i64,
    previous: &[u8; 32],
    event: &Event<'_>,
    operator: Option<&str>,
) -> Result<Vec<u8>> {
    encode_entry_with(sequence, time_ms, previous, event, operator, None)
}

/// Serialises one entry; with a key, its subject ids are sealed ([`SUBJECTS_SEALED`]).
pub(crate) fn encode_entry_with(
    sequence: u64,
    time_ms: i64,
    previous: &[u8; 32],
    event: &Event<'_>,
    operator: Option<&str>,
    key: Option<&GalleryKey>,
) -> Result<Vec<u8>> {
    let operator = operator.unwrap_or("");
    if operator.len() > MAX_OPERATOR_LEN {
        return Err(Error::InvalidArgument("operator id too long".into()));
    }
    let mut subjects: Vec<&str> = Vec::with_capacity(event.subjects.len());
    let mut seen = std::collections::HashSet::new();
    for s in event.subjects {
        // Stored ids have at most 64 bytes; a longer one is a refused request's, kept in part.
        let s = truncate_at_char(s, u8::MAX as usize);
        if seen.insert(s) {
            subjects.push(s);
        }
    }
    let stored: Vec<Vec<u8>> = match key {
        None => subjects.iter().map(|s| s.as_bytes().to_vec()).collect(),
        Some(key) => {
            // Sealed, a stored id must still fit its u8 length.
            let room = u8::MAX as usize - KEY_ID_LEN - NONCE_LEN - TAG_LEN;
            let mut sealed = Vec::with_capacity(subjects.len());
            for s in &subjects {
                let mut ct = truncate_at_char(s, room).as_bytes().to_vec();
                let nonce = seal::new_nonce()?;
                let tag = seal::seal_in_place(key, &nonce, SUBJECT_AAD, &mut ct)?;
                let mut blob = key.id().to_vec();
                blob.extend_from_slice(&nonce);
                blob.extend_from_slice(&ct);
                blob.extend_from_slice(&tag);
                sealed.push(blob);
            }
            sealed
        }
    };
    let count_field = stored.len() as u32 | if key.is_some() { SUBJECTS_SEALED } else { 0 };
    let body: usize =
        operator.len() + stored.iter().map(|s| 1 + s.len()).sum::<usize>() + event.detail.len();
    let len = ENTRY_FIXED_LEN + body + TRAILER_LEN;
    let len32 = u32::try_from(len)
        .map_err(|_| Error::InvalidArgument("audit entry larger than 4 GiB".into()))?;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&len32.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&time_ms.to_le_bytes());
    out.extend_from_slice(&event.generation.unwrap_or(NO_GENERATION).to_le_bytes());
    out.extend_from_slice(previous);
    out.push(event.operation as u8);
    out.push(event.outcome as u8);
    out.extend_from_slice(&(operator.len() as u16).to_le_bytes());
    out.extend_from_slice(&count_field.to_le_bytes());
    out.extend_from_slice(&(event.detail.len() as u32).to_le_bytes());
    out.extend_from_slice(operator.as_bytes());
    for s in &stored {
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    }
    out.extend_from_slice(event.detail.as_bytes());
    out.extend_from_slice(&len32.to_le_bytes());
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The digest stored in an encoded entry's trailer.
fn digest_of(entry: &[u8]) -> [u8; 32] {
    let mut d = [0u8; 32];
    d.copy_from_slice(&entry[entry.len() - 32..]);
    d
}

/// Decodes one entry at the start of `bytes` (which may run on past it), checking its framing
/// and digest, not its place in the chain.
pub fn decode_entry(bytes: &[u8], offset: u64) -> std::result::Result<Entry, String> {
    let len = get_u32(bytes, OFFSET_LEN).ok_or("incomplete entry header")? as usize;
    if len < MIN_ENTRY_LEN {
        return Err(format!("entry length {len} is shorter than the least entry"));
    }
    if len > bytes.len() {
        return Err(format!("entry length {len}, only {} bytes remain", bytes.len()));
    }
    let e = &bytes[..len];
    let trailer_len = get_u32(e, len - TRAILER_LEN).unwrap_or(0) as usize;
    if trailer_len != len {
        return Err(format!("trailer length {trailer_len} differs from the header's {len}"));
    }
    let computed = Sha256::digest(&e[..len - 32]);
    if computed[..] != e[len - 32..] {
        return Err("digest mismatch: the entry was altered or damaged".into());
    }
    // Every fixed-part read below is inside the MIN_ENTRY_LEN bytes checked above.
    let operator_len = get_u16(e, OFFSET_OPERATOR_LEN).unwrap_or(0) as usize;
    let count_field = get_u32(e, OFFSET_SUBJECT_COUNT).unwrap_or(0);
    let sealed = count_field & SUBJECTS_SEALED != 0;
    let subject_count = (count_field & !SUBJECTS_SEALED) as usize;
    let detail_len = get_u32(e, OFFSET_DETAIL_LEN).unwrap_or(0) as usize;
    let body = &e[ENTRY_FIXED_LEN..len - TRAILER_LEN];
    let text = |b: &[u8], what: &str| {
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    };
    if operator_len + detail_len > body.len() {
        return Err("field lengths exceed the entry".into());
    }
    let operator = text(&body[..operator_len], "operator id")?;
    let mut at = operator_len;
    let mut subjects = Vec::with_capacity(subject_count.min(body.len()));
    for _ in 0..subject_count {
        let n = *body.get(at).ok_or("subject ids exceed the entry")? as usize;
        let s = body.get(at + 1..at + 1 + n).ok_or("subject ids exceed the entry")?;
        if sealed {
            if s.len() < KEY_ID_LEN + NONCE_LEN + TAG_LEN {
                return Err("sealed subject id shorter than its seal".into());
            }
            subjects.push(format!("{SEALED_SUBJECT_PREFIX}{}", hex(s)));
        } else {
            subjects.push(text(s, "subject id")?);
        }
        at += 1 + n;
    }
    if at + detail_len != body.len() {
        return Err("field lengths do not add up to the entry length".into());
    }
    let detail = text(&body[at..], "detail")?;
    let generation = get_u64(e, OFFSET_GENERATION).unwrap_or(NO_GENERATION);
    Ok(Entry {
        sequence: get_u64(e, OFFSET_SEQUENCE).unwrap_or(0),
        offset,
        time_ms: get_u64(e, OFFSET_TIME).unwrap_or(0) as i64,
        generation: (generation != NO_GENERATION).then_some(generation),
        operation: e[OFFSET_OPERATION],
        outcome: e[OFFSET_OUTCOME],
        operator: (operator_len > 0).then_some(operator),
        subjects,
        detail,
        digest: digest_of(e),
    })
}

/// Decrypts the sealed subject ids of `entries` that were sealed under `key`; returns how
/// many sealed ids are left (sealed under another key, e.g. before a rekey, or damaged).
pub fn unseal_subjects(entries: &mut [Entry], key: &GalleryKey) -> usize {
    let mut left = 0;
    for s in entries.iter_mut().flat_map(|e| e.subjects.iter_mut()) {
        let Some(hex_blob) = s.strip_prefix(SEALED_SUBJECT_PREFIX) else { continue };
        match unseal_subject(hex_blob, key) {
            Some(clear) => *s = clear,
            None => left += 1,
        }
    }
    left
}

fn unseal_subject(hex_blob: &str, key: &GalleryKey) -> Option<String> {
    let blob: Vec<u8> = (0..hex_blob.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex_blob.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    if blob.get(..KEY_ID_LEN)? != key.id() {
        return None;
    }
    let nonce = seal::array_at::<NONCE_LEN>(&blob, KEY_ID_LEN)?;
    let tag = seal::array_at::<TAG_LEN>(&blob, blob.len().checked_sub(TAG_LEN)?)?;
    let mut ct = blob.get(KEY_ID_LEN + NONCE_LEN..blob.len() - TAG_LEN)?.to_vec();
    seal::open_in_place(key, &nonce, SUBJECT_AAD, &mut ct, &tag).then_some(())?;
    String::from_utf8(ct).ok()
}

/// [`verify`], then decrypts the sealed subject ids under `key` ([`unseal_subjects`]).
pub fn verify_with(dir: &Path, key: Option<&GalleryKey>) -> Result<AuditReport> {
    let mut report = verify(dir)?;
    if let Some(key) = key {
        unseal_subjects(&mut report.entries, key);
    }
    Ok(report)
}

/// Reads the entry ending at the end of the file if it is complete and intact.
fn read_last_entry(file: &mut File, len: u64) -> std::io::Result<Option<Entry>> {
    if len < (FILE_HEADER_LEN + MIN_ENTRY_LEN) as u64 {
        return Ok(None);
    }
    let mut trailer = [0u8; TRAILER_LEN];
    file.seek(SeekFrom::Start(len - TRAILER_LEN as u64))?;
    file.read_exact(&mut trailer)?;
    let entry_len = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as u64;
    if entry_len < MIN_ENTRY_LEN as u64 || entry_len > len - FILE_HEADER_LEN as u64 {
        return Ok(None);
    }
    let start = len - entry_len;
    let mut bytes = vec![0u8; entry_len as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut bytes)?;
    Ok(decode_entry(&bytes, start).ok())
}

struct Frames {
    /// Sequence number and digest of the last intact entry anywhere in the file.
    valid_last: Option<(u64, [u8; 32])>,
    /// Where framing stops before the end of the file.
    torn_from: Option<usize>,
    /// Whether nothing after `torn_from` could be a complete entry (a write cut short), as
    /// opposed to damage followed by more entries.
    only_torn_after: bool,
}

/// Walks entries by their length fields from the file header on.
fn walk_frames(bytes: &[u8]) -> Frames {
    let mut at = FILE_HEADER_LEN;
    let mut valid_last = None;
    let mut torn_from = None;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let framed = get_u32(rest, OFFSET_LEN).map(|l| l as usize).filter(|&l| {
            l >= MIN_ENTRY_LEN
                && l <= rest.len()
                && get_u32(rest, l - TRAILER_LEN).is_some_and(|t| t as usize == l)
        });
        match framed {
            Some(l) => {
                if let Ok(e) = decode_entry(rest, at as u64) {
                    valid_last = Some((e.sequence, e.digest));
                }
                at += l;
            }
            None => {
                torn_from = Some(at);
                break;
            }
        }
    }
    // A cut-short write leaves a prefix of one entry: its stated length runs past the end (or
    // not even the length is there) and no intact entry starts inside what is left.
    let only_torn_after = torn_from.is_some_and(|from| {
        let rest = &bytes[from..];
        let runs_past = !matches!(get_u32(rest, OFFSET_LEN), Some(l) if l as usize <= rest.len());
        runs_past && !(1..rest.len()).any(|i| decode_entry(&rest[i..], 0).is_ok())
    });
    if let (Some(from), false) = (torn_from, only_torn_after) {
        // Entries after damage still count for where the chain goes on.
        for i in from + 1..bytes.len() {
            if let Ok(e) = decode_entry(&bytes[i..], i as u64) {
                valid_last = Some((e.sequence, e.digest));
            }
        }
    }
    Frames { valid_last, torn_from, only_torn_after }
}

/// Reads every entry of a trail's bytes and checks the chain: framing, digests, sequence
/// numbers and links. Stops at the first problem.
pub fn verify_bytes(bytes: &[u8]) -> AuditReport {
    let mut report = AuditReport::default();
    if bytes.is_empty() {
        return report;
    }
    if let Err(message) = check_file_header(bytes) {
        report.problem = Some(ChainProblem { index: 0, offset: 0, torn: false, message });
        return report;
    }
    let mut at = FILE_HEADER_LEN;
    let mut previous = [0u8; 32];
    while at < bytes.len() {
        let index = report.entries.len() as u64;
        let fail = |message: String, torn: bool| {
            Some(ChainProblem { index, offset: at as u64, torn, message })
        };
        let rest = &bytes[at..];
        let runs_past = !matches!(get_u32(rest, OFFSET_LEN), Some(l) if l as usize <= rest.len());
        let entry = match decode_entry(rest, at as u64) {
            Ok(e) => e,
            Err(message) => {
                let torn = runs_past;
                let message = if torn {
                    format!(
                        "incomplete last entry ({} bytes): a torn append; {message}",
                        rest.len()
                    )
                } else {
                    message
                };
                report.problem = fail(message, torn);
                return report;
            }
        };
        if entry.sequence != index {
            report.problem = fail(
                format!(
                    "sequence number {}, expected {index}: an entry was removed, inserted or moved",
                    entry.sequence
                ),
                false,
            );
            return report;
        }
        let stored_previous = &rest[OFFSET_PREVIOUS..OFFSET_PREVIOUS + 32];
        if stored_previous != previous {
            report.problem = fail(
                "previous-entry digest does not match: the chain is broken here".into(),
                false,
            );
            return report;
        }
        previous = entry.digest;
        at += get_u32(rest, OFFSET_LEN).unwrap_or(0) as usize;
        report.entries.push(entry);
    }
    report
}

/// Reads and checks the audit trail of the gallery in `dir` (no trail yet: no entries), and
/// checks it against the gallery's manifest: when the trail has recorded the gallery's
/// creation, every committed generation up to the manifest's must have its entry, so that
/// entries cut from the end of the trail are found too, and the trail's newest commit must not
/// be newer than the manifest, so that an older manifest put back is found.
pub fn verify(dir: &Path) -> Result<AuditReport> {
    let path = dir.join(AUDIT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut report = verify_bytes(&bytes);
    if report.problem.is_some() {
        return Ok(report);
    }
    let created = report
        .entries
        .iter()
        .any(|e| e.operation == Operation::Create as u8 && e.outcome == Outcome::Committed as u8);
    if created {
        // Only the generation is compared; the gallery's own open authenticates the manifest.
        let manifest = super::manifest::Manifest::read_unauthenticated(dir)?;
        let audited = last_committed_generation(&report.entries).unwrap_or(0);
        if manifest.generation > audited {
            report.problem = Some(ChainProblem {
                index: report.entries.len() as u64,
                offset: bytes.len() as u64,
                torn: false,
                message: format!(
                    "the gallery is at generation {}, the trail's last commit is generation \
                     {audited}: entries are missing from its end",
                    manifest.generation
                ),
            });
        } else if manifest.generation < audited {
            // The trail is never ahead of the manifest: a writer commits, then records.
            report.problem = Some(ChainProblem {
                index: report.entries.len() as u64,
                offset: bytes.len() as u64,
                torn: false,
                message: format!(
                    "the gallery is at generation {}, the trail records generation {audited} \
                     as committed: an older manifest was put back (rolled back)",
                    manifest.generation
                ),
            });
        }
    }
    Ok(report)
}

/// The highest generation the entries record as committed.
pub(crate) fn last_committed_generation(entries: &[Entry]) -> Option<u64> {
    entries
        .iter()
        .filter(|e| {
            e.outcome == Outcome::Committed as u8
                && Operation::from_code(e.operation).is_some_and(Operation::commits)
        })
        .filter_map(|e| e.generation)
        .max()
}

/// The newest committed generation recorded, read backwards from the end of the trail (the
/// writer's check at open; `None` when the trail holds no commit or cannot be read backwards).
pub(crate) fn last_committed_generation_from_end(dir: &Path) -> Option<u64> {
    let mut file = File::open(dir.join(AUDIT_FILE)).ok()?;
    let mut end = file.metadata().ok()?.len();
    loop {
        let entry = read_last_entry(&mut file, end).ok()??;
        if entry.outcome == Outcome::Committed as u8
            && Operation::from_code(entry.operation).is_some_and(Operation::commits)
        {
            return entry.generation;
        }
        end = entry.offset;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Formats milliseconds since the Unix epoch as ISO 8601 UTC.
pub(crate) fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "gallery audit trails need a Unix system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(op: Operation, subjects: &'a [&'a str], generation: Option<u64>) -> Event<'a> {
        Event { operation: op, outcome: Outcome::Committed, generation, subjects, detail: "d" }
    }

    fn trail_with(n: usize) -> (tempfile::TempDir, AuditTrail) {
        let dir = tempfile::tempdir().expect("tempdir");
        let trail = AuditTrail::new(dir.path(), Some("clerk 7")).expect("trail");
        for i in 0..n {
            let id = format!("p{i}");
            trail.record(&event(Operation::Enrol, &[&id], Some(i as u64 + 1))).expect("record");
        }
        (dir, trail)
    }

    fn offsets(bytes: &[u8]) -> Vec<usize> {
        verify_bytes(bytes).entries.iter().map(|e| e.offset as usize).collect()
    }

    #[test]
    fn offsets_hold_documented_fields() {
        let prev = [7u8; 32];
        let e = Event {
            operation: Operation::IdentifyPerson,
            outcome: Outcome::Matched,
            generation: Some(42),
            subjects: &["ann", "bo", "ann"],
            detail: "searched 3",
        };
        let b = encode_entry(5, 1_700_000_000_123, &prev, &e, Some("op")).expect("encode");
        let len = ENTRY_FIXED_LEN + 2 + (1 + 3) + (1 + 2) + 10 + TRAILER_LEN;
        assert_eq!(b.len(), len);
        assert_eq!(get_u32(&b, OFFSET_LEN), Some(len as u32));
        assert_eq!(get_u64(&b, OFFSET_SEQUENCE), Some(5));
        assert_eq!(get_u64(&b, OFFSET_TIME), Some(1_700_000_000_123));
        assert_eq!(get_u64(&b, OFFSET_GENERATION), Some(42));
        assert_eq!(&b[OFFSET_PREVIOUS..OFFSET_PREVIOUS + 32], &prev);
        assert_eq!(b[OFFSET_OPERATION], 9);
        assert_eq!(b[OFFSET_OUTCOME], 4);
        assert_eq!(get_u16(&b, OFFSET_OPERATOR_LEN), Some(2));
        assert_eq!(get_u32(&b, OFFSET_SUBJECT_COUNT), Some(2), "a repeated id is stored once");
        assert_eq!(get_u32(&b, OFFSET_DETAIL_LEN), Some(10));
        assert_eq!(&b[ENTRY_FIXED_LEN..ENTRY_FIXED_LEN + 2], b"op");
        assert_eq!(&b[ENTRY_FIXED_LEN + 2..ENTRY_FIXED_LEN + 6], b"\x03ann");
        assert_eq!(get_u32(&b, len - TRAILER_LEN), Some(len as u32));
        assert_eq!(&b[len - 32..], &Sha256::digest(&b[..len - 32])[..]);
        let d = decode_entry(&b, 0).expect("decode");
        assert_eq!(d.subjects, vec!["ann", "bo"]);
        assert_eq!(d.operator.as_deref(), Some("op"));
        assert_eq!(d.generation, Some(42));
        assert_eq!(d.time_utc(), "2023-11-14T22:13:20.123Z");
        let long = "é".repeat(200);
        let e = Event { subjects: &[&long], ..e };
        let b = encode_entry(0, 0, &prev, &e, None).expect("a refused over-long id");
        let d = decode_entry(&b, 0).expect("decode");
        assert_eq!(d.subjects[0], "é".repeat(127), "cut to 255 bytes on a character boundary");
        let h = file_header();
        assert_eq!(&h[..8], &[0x89, 0x52, 0x4c, 0x41, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert_eq!(get_u16(&h, FILE_OFFSET_VERSION), Some(1));
        assert!(h[FILE_OFFSET_RESERVED..].iter().all(|&b| b == 0));
    }

    #[test]
    fn appended_entries_chain_and_verify() {
        let (dir, trail) = trail_with(3);
        let report = verify(dir.path()).expect("verify");
        assert!(report.is_ok(), "{:?}", report.problem);
        assert_eq!(report.entries.len(), 3);
        assert_eq!(report.entries[2].subjects, vec!["p2"]);
        assert_eq!(report.entries[1].operator.as_deref(), Some("clerk 7"));
        let bytes = std::fs::read(trail.path()).expect("read");
        assert_eq!(&bytes[FILE_HEADER_LEN + OFFSET_PREVIOUS..][..32], &[0u8; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(trail.path()).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_edited_entry_is_found() {
        let (_dir, trail) = trail_with(4);
        let mut bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes)[2];
        // Change the subject id "p2" into "p9" without fixing anything.
        let id_at = at + ENTRY_FIXED_LEN + "clerk 7".len() + 2;
        assert_eq!(bytes[id_at], b'2');
        bytes[id_at] = b'9';
        let problem = verify_bytes(&bytes).problem.expect("found");
        assert_eq!(problem.index, 2);
        assert!(!problem.torn);
        assert!(problem.message.contains("digest"), "{problem}");
    }

    #[test]
    fn an_edit_with_a_recomputed_digest_breaks_the_next_link() {
        let (_dir, trail) = trail_with(4);
        let mut bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        let (start, end) = (at[1], at[2]);
        bytes[start + OFFSET_OUTCOME] = Outcome::Refused as u8;
        let digest = Sha256::digest(&bytes[start..end - 32]);
        bytes[end - 32..end].copy_from_slice(&digest);
        let problem = verify_bytes(&bytes).problem.expect("found");
        assert_eq!(problem.index, 2, "{problem}");
        assert!(problem.message.contains("chain"), "{problem}");
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let (_dir, trail) = trail_with(4);
        let bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        let mut cut = bytes[..at[1]].to_vec();
        cut.extend_from_slice(&bytes[at[2]..]);
        let problem = verify_bytes(&cut).problem.expect("found");
        assert_eq!(problem.index, 1, "{problem}");
    }

    #[test]
    fn a_reordered_entry_is_found() {
        let (_dir, trail) = trail_with(4);
        let bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        let mut swapped = bytes[..at[1]].to_vec();
        swapped.extend_from_slice(&bytes[at[2]..at[3]]);
        swapped.extend_from_slice(&bytes[at[1]..at[2]]);
        swapped.extend_from_slice(&bytes[at[3]..]);
        assert_eq!(swapped.len(), bytes.len());
        let problem = verify_bytes(&swapped).problem.expect("found");
        assert_eq!(problem.index, 1, "{problem}");
    }

    #[test]
    fn a_torn_tail_is_reported_then_cut_off_and_recorded_by_the_next_append() {
        let (dir, trail) = trail_with(3);
        let bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        for cut in [at[2] + 1, at[2] + 20, bytes.len() - 1] {
            let torn = &bytes[..cut];
            let problem = verify_bytes(torn).problem.expect("found");
            assert_eq!(problem.index, 2, "{problem}");
            assert!(problem.torn, "{problem}");
        }
        std::fs::write(trail.path(), &bytes[..bytes.len() - 5]).expect("write");
        assert!(verify(dir.path()).expect("verify").problem.is_some_and(|p| p.torn));
        trail.record(&event(Operation::Remove, &["p0"], Some(4))).expect("append after tear");
        let report = verify(dir.path()).expect("verify");
        assert!(report.is_ok(), "{:?}", report.problem);
        let ops: Vec<&str> = report.entries.iter().map(Entry::operation_name).collect();
        assert_eq!(ops, ["enrol", "enrol", "repair", "remove"]);
        assert!(report.entries[2].detail.contains(&format!("at offset {}", at[2])));
        assert_eq!(report.entries[3].sequence, 3);
    }

    #[test]
    fn damage_in_the_middle_is_kept_and_appends_go_on_after_it() {
        let (dir, trail) = trail_with(4);
        let mut bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        // A length field destroyed in the middle: not a torn tail, nothing may be cut off.
        bytes[at[1] + OFFSET_LEN..at[1] + OFFSET_LEN + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(trail.path(), &bytes).expect("write");
        trail.record(&event(Operation::Remove, &["p0"], Some(5))).expect("append");
        let after = std::fs::read(trail.path()).expect("read");
        assert_eq!(&after[..bytes.len()], &bytes[..], "nothing removed");
        let report = verify(dir.path()).expect("verify");
        assert_eq!(report.problem.expect("still reported").index, 1);
        let last = decode_entry(&after[bytes.len()..], 0).expect("new entry intact");
        assert_eq!(last.sequence, 4);
        let prev = decode_entry(&after[at[3]..], 0).expect("old last");
        assert_eq!(&after[bytes.len() + OFFSET_PREVIOUS..][..32], &prev.digest);
    }

    #[test]
    fn a_cut_at_an_entry_boundary_is_found_against_the_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = super::super::segment::DescriptorLayout { len: 24, version: 1 };
        let mut manifest = super::super::manifest::Manifest::empty(layout);
        manifest.commit(dir.path()).expect("commit");
        let trail = AuditTrail::new(dir.path(), None).expect("trail");
        trail.record(&event(Operation::Create, &[], Some(0))).expect("create");
        trail.record(&event(Operation::Enrol, &["a"], Some(1))).expect("enrol");
        manifest.generation = 1;
        manifest.commit(dir.path()).expect("commit");
        assert!(verify(dir.path()).expect("verify").is_ok());
        assert_eq!(last_committed_generation_from_end(dir.path()), Some(1));
        let bytes = std::fs::read(trail.path()).expect("read");
        let at = offsets(&bytes);
        std::fs::write(trail.path(), &bytes[..at[1]]).expect("cut");
        let problem = verify(dir.path()).expect("verify").problem.expect("found");
        assert_eq!(problem.index, 1);
        assert!(problem.message.contains("missing"), "{problem}");
    }

    #[test]
    fn operator_ids_and_foreign_files_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(AuditTrail::new(dir.path(), Some("")).is_err());
        assert!(AuditTrail::new(dir.path(), Some("a\nb")).is_err());
        assert!(AuditTrail::new(dir.path(), Some(&"x".repeat(257))).is_err());
        std::fs::write(dir.path().join(AUDIT_FILE), b"not an audit trail at all").expect("w");
        let trail = AuditTrail::new(dir.path(), None).expect("trail");
        assert!(matches!(
            trail.record(&event(Operation::Enrol, &[], None)),
            Err(Error::AuditTrail { .. })
        ));
        assert_eq!(
            std::fs::read(dir.path().join(AUDIT_FILE)).expect("kept"),
            b"not an audit trail at all"
        );
    }

    #[test]
    fn every_flipped_bit_and_every_cut_inside_an_entry_is_found() {
        let (_dir, trail) = trail_with(3);
        let bytes = std::fs::read(trail.path()).expect("read");
        let boundaries = offsets(&bytes);
        for at in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut flipped = bytes.clone();
                flipped[at] ^= bit;
                assert!(verify_bytes(&flipped).problem.is_some(), "flip {bit:#x} at {at}");
            }
        }
        for cut in 1..bytes.len() {
            let at_boundary = cut == FILE_HEADER_LEN || boundaries.contains(&cut);
            let problem = verify_bytes(&bytes[..cut]).problem;
            assert_eq!(problem.is_none(), at_boundary, "cut at {cut}");
            if cut > FILE_HEADER_LEN && !at_boundary {
                assert!(problem.is_some_and(|p| p.torn), "cut at {cut} is a torn entry");
            }
        }
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59.999Z");
    }
}
