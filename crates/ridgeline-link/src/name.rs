//! Personal names: compared by characters and by sound.
//!
//! A name is folded (traditional → simplified, separators dropped, see [`crate::text`]), then
//! read as toneless pinyin, one syllable per character: clerks who type from speech pick the
//! wrong homophone (张/章 are both `zhang`, 王立/汪丽 both `wang li`), so sound is the stronger
//! key for a person than characters. The surname is read with its surname reading (单 is `shan`
//! as a surname, not `dan`), compound surnames (欧阳, 司马, ...) count as one surname, and a few
//! surname variants that registries use interchangeably (萧/肖, 阎/闫) fold to one form.
//! Romanised names (`Zhang Wei`, `Cheung Wai`) are split at spaces and the common Wade–Giles and
//! Cantonese spellings of surnames map to pinyin.
//!
//! A further, looser level folds the sounds that speakers of southern Mandarin and of other
//! dialects merge (zh/z, ch/c, sh/s, initial n/l, final -ng/-n), as Chinese input methods do
//! in their "fuzzy pinyin" option.

use pinyin::ToPinyin;

use crate::text::{fold, fold_keep_spaces, is_han};

/// Two-character surnames; a name starting with one of these has a surname of two syllables.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容", "夏侯", "宇文",
    "长孙", "司徒", "申屠", "端木", "轩辕", "呼延", "独孤", "南宫", "西门", "万俟", "闻人", "百里",
    "钟离", "单于", "澹台",
];

/// Readings a character takes as (the start of) a surname where the everyday reading differs.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('区', "ou"),
    ('查', "zha"),
    ('曾', "zeng"),
    ('朴', "piao"),
    ('盖', "ge"),
    ('乐', "yue"),
    ('覃', "qin"),
    ('缪', "miao"),
    ('员', "yun"),
    ('尉', "yu"),
    ('种', "chong"),
    ('繁', "po"),
    ('召', "shao"),
    ('长', "zhang"),
    ('万', "wan"),
    ('俟', "qi"),
    ('重', "chong"),
    ('翟', "zhai"),
    ('祭', "zhai"),
    ('秘', "bi"),
];

/// Surname characters that registries write in either of two forms for the same family.
const SURNAME_VARIANTS: &[(char, char)] = &[('萧', '肖'), ('阎', '闫'), ('於', '于')];

/// Romanisations of surnames (Wade–Giles, Cantonese, Hokkien) that are not themselves pinyin
/// syllables, mapped to pinyin. Spellings that are also valid pinyin (`chang`, `chan`, `tang`)
/// are left alone: mapping them would merge different surnames.
const ROMANISED_SURNAMES: &[(&str, &str)] = &[
    ("lee", "li"),
    ("wong", "wang"),
    ("cheung", "zhang"),
    ("hsu", "xu"),
    ("tsai", "cai"),
    ("lam", "lin"),
    ("ng", "wu"),
    ("ho", "he"),
    ("kwok", "guo"),
    ("kuo", "guo"),
    ("lau", "liu"),
    ("yeung", "yang"),
    ("chow", "zhou"),
    ("leung", "liang"),
    ("tse", "xie"),
    ("hsieh", "xie"),
    ("tsang", "zeng"),
    ("kwan", "guan"),
    ("fung", "feng"),
    ("chiang", "jiang"),
    ("tsao", "cao"),
    ("yip", "ye"),
    ("szeto", "situ"),
];

/// A name prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    /// Folded characters (simplified, no separators); for romanised names the lower-case
    /// syllables without spaces.
    pub chars: Box<str>,
    /// Toneless pinyin, one syllable per character, separated by single spaces.
    pub pinyin: Box<str>,
    /// Syllables of the surname (1 or 2; 0 when the name is empty).
    pub surname_syllables: u8,
}

/// Comparison levels of two names, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameLevel {
    /// Same characters once folded.
    Exact = 0,
    /// Same toneless pinyin: homophones (张/章, 王立/汪丽).
    SameSound = 1,
    /// Near in sound: dialect-merged sounds equal, one syllable of the given name differs, or
    /// the syllables are the same in another order.
    Similar = 2,
    /// Different names.
    Different = 3,
}

impl Name {
    /// Prepares a name; `None` when the field is empty.
    pub fn parse(text: &str) -> Option<Name> {
        let folded = fold(text);
        if folded.is_empty() {
            return None;
        }
        if folded.chars().any(is_han) {
            Some(Self::from_han(&folded))
        } else {
            Some(Self::from_romanised(&fold_keep_spaces(text)))
        }
    }

    fn from_han(folded: &str) -> Name {
        let compound = COMPOUND_SURNAMES.iter().any(|s| folded.starts_with(s));
        let surname_len = if compound { 2 } else { 1 };
        let mut chars = String::with_capacity(folded.len());
        let mut pinyin = String::with_capacity(folded.len() * 2);
        for (i, c) in folded.chars().enumerate() {
            let in_surname = i < surname_len;
            let c = if in_surname {
                SURNAME_VARIANTS.iter().find(|(v, _)| *v == c).map_or(c, |&(_, to)| to)
            } else {
                c
            };
            chars.push(c);
            let reading = if in_surname {
                SURNAME_READINGS.iter().find(|(s, _)| *s == c).map(|&(_, r)| r)
            } else {
                None
            };
            let syllable = reading.or_else(|| c.to_pinyin().map(|p| p.plain()));
            if !pinyin.is_empty() {
                pinyin.push(' ');
            }
            match syllable {
                Some(s) => pinyin.push_str(s),
                // A character without a reading (a rare variant, a letter) stands for itself.
                None => pinyin.push(c),
            }
        }
        Name {
            chars: chars.into(),
            pinyin: pinyin.into(),
            surname_syllables: surname_len.min(folded.chars().count()) as u8,
        }
    }

    fn from_romanised(spaced: &str) -> Name {
        let mut syllables: Vec<&str> = spaced.split(' ').filter(|s| !s.is_empty()).collect();
        if let Some(first) = syllables.first_mut() {
            if let Some(&(_, py)) = ROMANISED_SURNAMES.iter().find(|(r, _)| r == first) {
                *first = py;
            }
        }
        let pinyin = syllables.join(" ");
        Name {
            chars: syllables.concat().into(),
            pinyin: pinyin.into(),
            surname_syllables: u8::from(!syllables.is_empty()),
        }
    }

    /// Pinyin of the surname (`"zhang"`, `"ou yang"`).
    pub fn surname_pinyin(&self) -> &str {
        let n = self.surname_syllables as usize;
        if n == 0 {
            return "";
        }
        let end = self.pinyin.match_indices(' ').nth(n - 1).map_or(self.pinyin.len(), |(i, _)| i);
        &self.pinyin[..end]
    }

    /// Pinyin of the given name.
    pub fn given_pinyin(&self) -> &str {
        let s = self.surname_pinyin().len();
        self.pinyin[s..].trim_start()
    }

    /// Compares two names.
    pub fn compare(&self, other: &Name) -> NameLevel {
        if self.chars == other.chars {
            return NameLevel::Exact;
        }
        if self.pinyin == other.pinyin {
            return NameLevel::SameSound;
        }
        if self.is_similar(other) {
            return NameLevel::Similar;
        }
        NameLevel::Different
    }

    fn is_similar(&self, other: &Name) -> bool {
        let a: Vec<&str> = self.pinyin.split(' ').collect();
        let b: Vec<&str> = other.pinyin.split(' ').collect();
        if a.len() == b.len() {
            let fuzzy_equal = a.iter().zip(&b).all(|(x, y)| fuzzy_syllable(x) == fuzzy_syllable(y));
            if fuzzy_equal {
                return true;
            }
            // One syllable off, the surname kept (a mistyped given-name character that is not a
            // homophone); names of a single syllable cannot qualify.
            let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            if differing == 1 && a.len() >= 3 && self.surname_pinyin() == other.surname_pinyin() {
                return true;
            }
            // The same syllables in another order: a romanised name written given name first.
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sa.sort_unstable();
            sb.sort_unstable();
            if sa == sb {
                return true;
            }
        }
        // A given name of two syllables typed with one missing, or a character added.
        if a.len().abs_diff(b.len()) == 1 && a.len().min(b.len()) >= 2 {
            let (short, long) = if a.len() < b.len() { (&a, &b) } else { (&b, &a) };
            if short[0] == long[0] && is_subsequence(short, long) {
                return true;
            }
        }
        false
    }
}

fn is_subsequence(short: &[&str], long: &[&str]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

/// A syllable with the sounds that dialect speakers merge folded together: retroflex initials
/// to dental (zh→z, ch→c, sh→s), initial n to l, and velar nasal finals to dental (-ng→-n).
pub fn fuzzy_syllable(syllable: &str) -> String {
    let mut s = syllable;
    let mut out = String::with_capacity(s.len());
    for (from, to) in [("zh", "z"), ("ch", "c"), ("sh", "s")] {
        if let Some(rest) = s.strip_prefix(from) {
            out.push_str(to);
            s = rest;
            break;
        }
    }
    if out.is_empty() {
        if let Some(rest) = s.strip_prefix('n') {
            if !rest.is_empty() && rest != "g" {
                out.push('l');
                s = rest;
            }
        }
    }
    match s.strip_suffix("ng") {
        // "ng" after a vowel is the final; on its own it is a syllable (嗯 ng) and stays.
        Some(stem) if !stem.is_empty() => {
            out.push_str(stem);
            out.push('n');
        }
        _ => out.push_str(s),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).expect("a name")
    }

    #[test]
    fn homophone_surnames_and_given_names_sound_the_same() {
        assert_eq!(name("张伟").compare(&name("章伟")), NameLevel::SameSound);
        assert_eq!(name("王立").compare(&name("汪丽")), NameLevel::SameSound);
        assert_eq!(name("王立").pinyin.as_ref(), "wang li");
        assert_eq!(name("汪丽").pinyin.as_ref(), "wang li");
        assert_eq!(name("刘德华").compare(&name("柳德华")), NameLevel::SameSound);
    }

    #[test]
    fn traditional_and_simplified_are_the_same_characters() {
        assert_eq!(name("張偉").compare(&name("张伟")), NameLevel::Exact);
        assert_eq!(name("陳麗華").compare(&name("陈丽华")), NameLevel::Exact);
        assert_eq!(name("张 伟").compare(&name("张伟")), NameLevel::Exact);
    }

    #[test]
    fn surname_readings_and_variants() {
        assert_eq!(name("单雄").surname_pinyin(), "shan");
        assert_eq!(name("曾国藩").surname_pinyin(), "zeng");
        assert_eq!(name("欧阳修").surname_pinyin(), "ou yang");
        assert_eq!(name("欧阳修").given_pinyin(), "xiu");
        assert_eq!(name("萧红").compare(&name("肖红")), NameLevel::Exact);
        assert_eq!(name("閻明").compare(&name("闫明")), NameLevel::Exact);
    }

    #[test]
    fn romanised_names_map_surname_spellings_to_pinyin() {
        assert_eq!(name("Cheung Wei").pinyin.as_ref(), "zhang wei");
        assert_eq!(name("Cheung Wei").compare(&name("张伟")), NameLevel::SameSound);
        assert_eq!(name("WONG Li").compare(&name("王丽")), NameLevel::SameSound);
        assert_eq!(name("wei zhang").compare(&name("zhang wei")), NameLevel::Similar);
    }

    #[test]
    fn dialect_sounds_and_single_slips_are_similar() {
        // zh/z and -ng/-n merged: 张 zhang ~ 赞 zan.
        assert_eq!(fuzzy_syllable("zhang"), "zan");
        assert_eq!(fuzzy_syllable("ning"), "lin");
        assert_eq!(fuzzy_syllable("ng"), "ng");
        assert_eq!(name("张明").compare(&name("詹明")), NameLevel::Similar);
        assert_eq!(name("刘宁").compare(&name("刘林")), NameLevel::Similar);
        // One given-name character off in a three-character name, surname kept.
        assert_eq!(name("王建国").compare(&name("王建华")), NameLevel::Similar);
        // One character dropped.
        assert_eq!(name("李小红").compare(&name("李红")), NameLevel::Similar);
    }

    #[test]
    fn different_people_stay_different() {
        assert_eq!(name("张伟").compare(&name("李伟")), NameLevel::Different);
        assert_eq!(name("王建国").compare(&name("李建华")), NameLevel::Different);
        assert_eq!(name("陈静").compare(&name("陈敏")), NameLevel::Different);
        assert!(Name::parse("  ").is_none());
    }
}
