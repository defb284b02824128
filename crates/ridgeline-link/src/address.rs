//! Home addresses, compared by their administrative tokens.
//!
//! A Chinese address runs from the largest division to the smallest (省 province, 市 city,
//! 区/县 district or county, 镇/街道 town, 路/街 road, 号 number, 室 room), each ending in its
//! division character, so it splits into tokens at those characters. Clerks drop the province
//! or city, abbreviate, or write the room differently; two addresses of one person then share
//! most tokens, and people of one district share the district token.

use crate::text::fold;

/// Characters that end an administrative or street token.
const TOKEN_ENDS: &[char] = &[
    '省', '市', '区', '县', '旗', '州', '盟', '镇', '乡', '街', '路', '道', '巷', '弄', '村', '组',
    '号', '栋', '幢', '室', '楼', '苑', '院', '里',
];
/// Token ends of the divisions below the city that identify a locality.
const LOCALITY_ENDS: &[char] = &['区', '县', '旗'];

/// Ends of the province-level divisions whose names also end in 区 (内蒙古自治区, 香港特别行政区):
/// they come before the district and are not one.
const PROVINCE_LEVEL_ENDS: &[&str] = &["自治区", "行政区"];

/// An address prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Folded text.
    pub text: Box<str>,
    /// Hashes of the tokens, sorted and without repeats.
    tokens: Box<[u32]>,
    /// Hash of the district or county token, when there is one.
    locality: Option<u32>,
}

/// Comparison levels of two addresses, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLevel {
    /// Same text once folded.
    Exact = 0,
    /// Most tokens shared (Jaccard ≥ 0.6), or one address is the other with divisions left out.
    MostTokens = 1,
    /// Same district or county.
    SameLocality = 2,
    /// Different places.
    Different = 3,
}

fn hash(token: &str) -> u32 {
    // FNV-1a: stable across runs and platforms, and enough for a set of a dozen tokens.
    let mut h: u32 = 0x811c_9dc5;
    for b in token.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Splits a folded address into its tokens.
pub fn tokens(folded: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in folded.char_indices() {
        if TOKEN_ENDS.contains(&c) {
            let end = i + c.len_utf8();
            if end > start {
                out.push(&folded[start..end]);
            }
            start = end;
        }
    }
    if start < folded.len() {
        out.push(&folded[start..]);
    }
    out
}

impl Address {
    /// Prepares an address; `None` for an empty field.
    pub fn parse(text: &str) -> Option<Address> {
        let folded = fold(text);
        if folded.is_empty() {
            return None;
        }
        let toks = tokens(&folded);
        let locality = toks
            .iter()
            .find(|t| {
                t.chars().last().is_some_and(|c| LOCALITY_ENDS.contains(&c))
                    && !PROVINCE_LEVEL_ENDS.iter().any(|end| t.ends_with(end))
            })
            .map(|t| hash(t));
        let mut hashes: Vec<u32> = toks.iter().map(|t| hash(t)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Some(Address { text: folded.into(), tokens: hashes.into(), locality })
    }

    /// Hash of the district or county token, when there is one.
    pub fn locality(&self) -> Option<u32> {
        self.locality
    }

    /// Compares two addresses.
    pub fn compare(&self, other: &Address) -> AddressLevel {
        if self.text == other.text {
            return AddressLevel::Exact;
        }
        let shared = sorted_intersection(&self.tokens, &other.tokens);
        let union = self.tokens.len() + other.tokens.len() - shared;
        let smaller = self.tokens.len().min(other.tokens.len());
        if union > 0 && (shared as f64 / union as f64 >= 0.6 || (smaller >= 3 && shared == smaller))
        {
            return AddressLevel::MostTokens;
        }
        if self.locality.is_some() && self.locality == other.locality {
            return AddressLevel::SameLocality;
        }
        AddressLevel::Different
    }
}

fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        Address::parse(s).expect("non-empty")
    }

    #[test]
    fn splits_at_division_characters() {
        assert_eq!(
            tokens("广东省深圳市南山区科技园路88号3栋201室"),
            ["广东省", "深圳市", "南山区", "科技园路", "88号", "3栋", "201室"]
        );
    }

    #[test]
    fn levels() {
        let home = a("广东省深圳市南山区科技园路88号3栋201室");
        assert_eq!(home.compare(&a("廣東省深圳市南山區科技園路88號3棟201室")), AddressLevel::Exact);
        // Province and city left out.
        assert_eq!(home.compare(&a("南山区科技园路88号3栋201室")), AddressLevel::MostTokens);
        // Another room in the same building.
        assert_eq!(
            home.compare(&a("广东省深圳市南山区科技园路88号3栋502室")),
            AddressLevel::MostTokens
        );
        // Same district, another street.
        assert_eq!(home.compare(&a("广东省深圳市南山区桃园路12号")), AddressLevel::SameLocality);
        assert_eq!(home.compare(&a("北京市朝阳区建国路1号")), AddressLevel::Different);
        assert!(Address::parse(" ").is_none());
    }

    /// An autonomous region is a province, not the district: the district is the one after it.
    #[test]
    fn the_district_of_an_autonomous_region_is_below_it() {
        let full = a("广西壮族自治区南宁市兴宁区长江路68号");
        let short = a("南宁市兴宁区工业路230号");
        assert!(full.locality().is_some());
        assert_eq!(full.locality(), short.locality());
        assert_eq!(full.compare(&short), AddressLevel::SameLocality);
        assert_ne!(full.locality(), a("广西壮族自治区南宁市青秀区民族大道1号").locality());
    }
}
