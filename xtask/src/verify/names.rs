//! Compact bookkeeping for what a streaming run keeps of each Application or file: strings in one
//! buffer, and digests where only equality matters.

/// Strings in one buffer. A run keeps a name or a path of every Application or file it meets,
/// and thousands of small strings made between the chunks' short-lived data would pin the
/// allocator's pages long after the chunks are gone.
#[derive(Debug, Default)]
pub struct NameList {
    text: String,
    ends: Vec<usize>,
}

impl NameList {
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    /// How many strings the list holds.
    pub fn count(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = index.checked_sub(1).map_or(0, |i| self.ends[i]);
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.text[start..end])
    }

    /// The position of `name` in a list pushed in sorted order.
    pub fn position_sorted(&self, name: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.count());
        while low < high {
            let mid = (low + high) / 2;
            match self.get(mid).expect("within the list").cmp(name) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

impl<'a> FromIterator<&'a str> for NameList {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> NameList {
        let mut list = NameList::default();
        names.into_iter().for_each(|name| list.push(name));
        list
    }
}

/// The first 16 bytes of the sha256 of `text`: equal digests are equal texts, as the render
/// cache trusts of its keys too.
pub fn digest(text: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..16].try_into().expect("a sha256 has 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_list_gives_back_what_was_pushed() {
        let list: NameList = ["", "b", "ccc", "d"].into_iter().collect();
        assert_eq!(list.count(), 4);
        assert_eq!(list.iter().collect::<Vec<_>>(), ["", "b", "ccc", "d"]);
        assert_eq!(list.get(2), Some("ccc"));
        assert_eq!(list.get(0), Some(""));
        assert_eq!(list.get(4), None);
        for (i, name) in ["", "b", "ccc", "d"].iter().enumerate() {
            assert_eq!(list.position_sorted(name), Some(i), "{name}");
        }
        for absent in ["a", "cc", "e"] {
            assert_eq!(list.position_sorted(absent), None, "{absent}");
        }
        assert_eq!(NameList::default().count(), 0);
    }

    #[test]
    fn digests_are_the_sha256_prefix() {
        // sha256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 ...
        assert_eq!(
            digest("abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23
            ]
        );
    }
}
