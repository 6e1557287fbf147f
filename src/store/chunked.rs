//! Secrets longer than one keyring item holds, kept across several items
//! (Windows Credential Manager: 2,560 bytes a credential, and ECR and ACR
//! tokens are longer), so that a reader never gets half of one.
//!
//! The rule, all in this file ([`Chunked`] wraps the store of single items):
//!
//! - A secret that fits one item and does not start with [`MAGIC`] is stored
//!   as itself under its key (the *head*), as before chunking existed.
//! - A longer one (at most [`MAX_TOTAL`] bytes) is cut at character
//!   boundaries into parts of at most [`PART_MAX`] bytes. The parts are
//!   written first, under `KEY#dck-part-SLOT-INDEX`, then the head, last:
//!   [`MAGIC`] plus the slot, the part count, the length and the SHA-256 of
//!   the whole secret. `#` never occurs in an index key
//!   ([`ServerKey`](crate::registry::ServerKey) refuses it), so a part's name
//!   is never another credential's.
//! - There are two slots, 0 and 1: a new set goes to the slot the current
//!   head does not name, so until the new head lands the old head still
//!   names an intact set. A writer killed between parts leaves the old
//!   secret readable, or none, never a mix.
//! - `get` reads the head, then its parts, and checks count, length and
//!   digest; any mismatch is [`BackendError::Corrupt`] with the fix, never a
//!   partial secret.
//! - After a head lands (or is removed, by `delete`, head first), the parts
//!   it does not name are removed. Each slot's items are always a run from
//!   index 0 (written upwards, removed downwards), so probing from 0 until
//!   an index is missing finds everything a killed writer left; no
//!   enumeration of the keyring is needed.
//!
//! Credential Manager's other limits: a target name (`KEY#dck-part-1-25`
//! plus `.SERVICE`) stays far under `CRED_MAX_GENERIC_TARGET_NAME_LENGTH`
//! (32,767; an index key is at most 4,096 bytes), but its username field,
//! which holds the item's key, takes 513 (`CRED_MAX_USERNAME_LENGTH`): a part
//! adds 14 bytes to the key, so a key of 500 to 513 bytes keeps only secrets
//! that fit one item.
//!
//! Writers are serialised by the index lock and readers take it shared
//! ([`Credentials`](super::Credentials)), so a reader never meets a set
//! being written; the two slots and the digest are for writers that die
//! midway and for anything that changes items behind our back.

use super::backend::BackendError;
use super::secrets::SecretStore;
use super::StoreKind;
use crate::secret::Secret;

/// The most bytes one item holds: Credential Manager's
/// `CRED_MAX_CREDENTIAL_BLOB_SIZE` (5 * 512).
pub(crate) const PART_MAX: usize = 2560;

/// The longest secret kept, across at most 26 items: 64 KiB, well above
/// the largest registry tokens (ECR and ACR tokens are a few KiB).
pub(crate) const MAX_TOTAL: usize = 64 * 1024;

/// How a head that names parts starts. NUL characters, so no secret stored
/// before chunking existed is taken for a head; a new secret that starts
/// with it is stored as a set of one part.
const MAGIC: &str = "\0docker-credential-keyring chunked v1\0";

/// The test hook that makes the helper exit right after writing this many
/// parts, as if killed between two of them (debug builds only; see
/// tests/windows/check.py).
#[cfg(debug_assertions)]
pub(crate) const EXIT_AFTER_PART_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_TEST_EXIT_AFTER_PART";

/// A store of single items (at most [`PART_MAX`] bytes each) holding
/// secrets of up to [`MAX_TOTAL`] bytes, by the rule in the module header.
pub(crate) struct Chunked<S> {
    kind: StoreKind,
    items: S,
}

impl<S: SecretStore> Chunked<S> {
    /// `items`, the store of single items of the keyring of `kind`.
    pub(crate) const fn new(kind: StoreKind, items: S) -> Self {
        Chunked { kind, items }
    }

    /// The store of single items underneath (for tests).
    #[cfg(test)]
    pub(crate) fn items(&self) -> &S {
        &self.items
    }

    fn corrupt(&self, key: &str, what: String) -> BackendError {
        BackendError::Corrupt {
            kind: self.kind,
            reason: format!("the secret of {key} is split across several entries and {what}"),
        }
    }

    /// Reassembles the set `head` names, checking it whole.
    fn assemble(&self, key: &str, head: &Head) -> Result<Secret, BackendError> {
        let mut whole = Secret::with_capacity(head.bytes);
        for index in 0..head.parts {
            let Some(part) = self.items.get(&part_key(key, head.slot, index))? else {
                let what = format!("part {} of {} is missing", index + 1, head.parts);
                return Err(self.corrupt(key, what));
            };
            if whole.expose().len() + part.expose().len() > head.bytes {
                return Err(self.corrupt(key, "its parts are longer than recorded".into()));
            }
            whole.push_str(part.expose());
        }
        if whole.expose().len() != head.bytes || sha256_hex(&whole) != head.sha256 {
            return Err(self.corrupt(key, "its parts do not match the recorded digest".into()));
        }
        Ok(whole)
    }

    /// Writes the parts of `secret` into `slot`, removing any the slot held
    /// beyond them; on failure removes what it wrote.
    fn write_parts(
        &self,
        key: &str,
        label: &str,
        slot: u8,
        secret: &Secret,
    ) -> Result<usize, BackendError> {
        let parts = split(secret);
        let written = parts.iter().enumerate().try_for_each(|(index, part)| {
            self.items.set(&part_key(key, slot, index), label, part)?;
            exit_after_part_for_tests(index + 1);
            Ok(())
        });
        let cleaned = written.and_then(|()| self.remove_parts(key, slot, parts.len(), 0));
        if let Err(err) = cleaned {
            let _ = self.remove_parts(key, slot, 0, parts.len());
            return Err(err);
        }
        Ok(parts.len())
    }

    /// Removes the parts of `slot` from index `from` on: those below
    /// `known` (the count a head recorded) whether or not present, then
    /// probes upwards until one is missing, and removes downwards, so a
    /// removal cut short still leaves a run from the bottom for the next
    /// probe to find.
    fn remove_parts(
        &self,
        key: &str,
        slot: u8,
        from: usize,
        known: usize,
    ) -> Result<(), BackendError> {
        let mut end = from.max(known);
        while end < MAX_PARTS && self.items.get(&part_key(key, slot, end))?.is_some() {
            end += 1;
        }
        for index in (from..end).rev() {
            self.items.delete(&part_key(key, slot, index))?;
        }
        Ok(())
    }

    /// Removes every part of both slots but `keep`'s; `old` is the head
    /// read before the change (its count covers a set with a part missing).
    fn remove_parts_except(
        &self,
        key: &str,
        keep: Option<u8>,
        old: Option<&Head>,
    ) -> Result<(), BackendError> {
        [0, 1]
            .into_iter()
            .filter(|slot| Some(*slot) != keep)
            .try_for_each(|slot| {
                let known = old.filter(|h| h.slot == slot).map_or(0, |h| h.parts);
                self.remove_parts(key, slot, 0, known)
            })
    }

    /// The head stored under `key` if it names parts (`None` for a plain
    /// secret, none at all, or a head we cannot read).
    fn current_head(&self, key: &str) -> Result<Option<Head>, BackendError> {
        Ok(self
            .items
            .get(key)?
            .and_then(|head| Head::parse(head.expose()).ok().flatten()))
    }
}

impl<S: SecretStore> SecretStore for Chunked<S> {
    fn get(&self, key: &str) -> Result<Option<Secret>, BackendError> {
        let Some(stored) = self.items.get(key)? else {
            return Ok(None);
        };
        match Head::parse(stored.expose()) {
            Ok(None) => Ok(Some(stored)),
            Ok(Some(head)) => self.assemble(key, &head).map(Some),
            Err(what) => Err(self.corrupt(key, what.to_owned())),
        }
    }

    fn set(&self, key: &str, label: &str, secret: &Secret) -> Result<(), BackendError> {
        let text = secret.expose();
        if text.len() > MAX_TOTAL {
            return Err(BackendError::TooLong {
                kind: self.kind,
                len: text.len(),
                max: MAX_TOTAL,
            });
        }
        let old = self.current_head(key)?;
        let keep = if text.len() <= PART_MAX && !text.starts_with(MAGIC) {
            self.items.set(key, label, secret)?;
            None
        } else {
            let slot = match &old {
                Some(head) if head.slot == 0 => 1,
                _ => 0,
            };
            let parts = self.write_parts(key, label, slot, secret)?;
            let head = Head {
                slot,
                parts,
                bytes: text.len(),
                sha256: sha256_hex(secret),
            };
            if let Err(err) = self.items.set(key, label, &Secret::new(head.render())) {
                let _ = self.remove_parts(key, slot, 0, parts);
                return Err(err);
            }
            Some(slot)
        };
        // The new secret is stored; parts it does not use are only left
        // over, and the next write or removal of the key finds them again.
        if let Err(err) = self.remove_parts_except(key, keep, old.as_ref()) {
            crate::debug!("could not remove the old parts of {key}: {err}");
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, BackendError> {
        let old = self.current_head(key)?;
        let existed = self.items.delete(key)?;
        self.remove_parts_except(key, None, old.as_ref())?;
        Ok(existed)
    }
}

/// The most parts a set has: [`MAX_TOTAL`] cut at character boundaries
/// (each part at least `PART_MAX - 3` bytes but the last), with room.
const MAX_PARTS: usize = MAX_TOTAL / (PART_MAX - 3) + 2;

/// What a head that names parts records.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    slot: u8,
    parts: usize,
    bytes: usize,
    sha256: String,
}

impl Head {
    fn render(&self) -> String {
        format!(
            "{MAGIC}slot={} parts={} bytes={} sha256={}",
            self.slot, self.parts, self.bytes, self.sha256
        )
    }

    /// `Ok(None)`: a plain secret, not a head; `Err`: a head we cannot
    /// read (what is wrong with it, never its text).
    fn parse(stored: &str) -> Result<Option<Head>, &'static str> {
        let Some(fields) = stored.strip_prefix(MAGIC) else {
            return Ok(None);
        };
        let bad = "its first entry is unreadable";
        let mut fields = fields.split(' ');
        let mut field = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix('='))
                .ok_or(bad)
        };
        let slot = field("slot")?.parse::<u8>().map_err(|_| bad)?;
        let parts = field("parts")?.parse::<usize>().map_err(|_| bad)?;
        let bytes = field("bytes")?.parse::<usize>().map_err(|_| bad)?;
        let sha256 = field("sha256")?.to_owned();
        let sane = slot <= 1
            && (1..=MAX_PARTS).contains(&parts)
            && bytes <= MAX_TOTAL
            && sha256.len() == 64
            && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if fields.next().is_some() || !sane {
            return Err(bad);
        }
        Ok(Some(Head {
            slot,
            parts,
            bytes,
            sha256,
        }))
    }
}

/// The item name of part `index` of `slot` of the secret under `key`.
fn part_key(key: &str, slot: u8, index: usize) -> String {
    format!("{key}#dck-part-{slot}-{index}")
}

/// `secret` cut at character boundaries into pieces of at most [`PART_MAX`] bytes.
fn split(secret: &Secret) -> Vec<Secret> {
    let text = secret.expose();
    let mut parts = Vec::with_capacity(text.len() / PART_MAX + 1);
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + PART_MAX).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(Secret::from(&text[start..end]));
        start = end;
    }
    parts
}

fn sha256_hex(secret: &Secret) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.expose().as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Debug builds only: exits, as if killed, once `written` parts are
/// written and [`EXIT_AFTER_PART_ENV`] asks for it.
fn exit_after_part_for_tests(written: usize) {
    #[cfg(debug_assertions)]
    if std::env::var(EXIT_AFTER_PART_ENV).is_ok_and(|n| n.trim() == written.to_string()) {
        std::process::exit(86);
    }
    let _ = written;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const KEY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn store() -> Chunked<MemoryStore> {
        Chunked::new(StoreKind::Windows, MemoryStore::new(StoreKind::Windows))
    }

    /// A secret of `len` bytes mixing one-, two- and four-byte characters,
    /// so cuts land next to multi-byte characters.
    fn secret_of(len: usize) -> Secret {
        let mut text = String::new();
        for i in 0.. {
            let ch = match i % 7 {
                0 => 'é',
                3 => '😀',
                _ => char::from(b'a' + (i % 26) as u8),
            };
            if text.len() + ch.len_utf8() > len {
                break;
            }
            text.push(ch);
        }
        while text.len() < len {
            text.push('x');
        }
        Secret::new(text)
    }

    /// Every item the store holds, with its length: none over one item's cap.
    fn items(store: &Chunked<MemoryStore>) -> Vec<String> {
        let keys = store.items().keys();
        for key in &keys {
            let len = store.items().get(key).unwrap().unwrap().expose().len();
            assert!(len <= PART_MAX, "{key} holds {len} bytes");
        }
        keys
    }

    fn parts(slot: u8, count: usize) -> Vec<String> {
        (0..count).map(|i| part_key(KEY, slot, i)).collect()
    }

    fn with_head(mut keys: Vec<String>) -> Vec<String> {
        keys.push(KEY.to_owned());
        keys.sort();
        keys
    }

    #[test]
    fn a_secret_that_fits_one_item_is_stored_as_itself() {
        let store = store();
        let secret = secret_of(PART_MAX);
        store.set(KEY, "label", &secret).unwrap();
        assert_eq!(items(&store), [KEY]);
        assert_eq!(store.items().get(KEY).unwrap(), Some(secret.clone()));
        assert_eq!(store.get(KEY).unwrap(), Some(secret));
        // A NUL elsewhere than at the start is just a character.
        let nul = Secret::from("a\0docker-credential-keyring chunked v1\0");
        store.set(KEY, "label", &nul).unwrap();
        assert_eq!(store.get(KEY).unwrap(), Some(nul));
    }

    #[test]
    fn six_and_sixty_kib_secrets_round_trip_across_items_of_at_most_the_cap() {
        let store = store();
        for (len, count) in [(6 * 1024, 3), (60 * 1024, 25), (MAX_TOTAL, 26)] {
            let secret = secret_of(len);
            store.set(KEY, "label", &secret).unwrap();
            let keys = items(&store);
            assert_eq!(keys.len(), count + 1, "{len} bytes");
            assert_eq!(store.get(KEY).unwrap(), Some(secret), "{len} bytes");
        }
        // Four-byte characters only: every cut is moved back to a boundary.
        let emoji = Secret::new("😀".repeat(1000));
        store.set(KEY, "label", &emoji).unwrap();
        assert_eq!(store.get(KEY).unwrap(), Some(emoji));
    }

    #[test]
    fn a_secret_over_the_total_is_refused_naming_the_limit_and_changes_nothing() {
        let store = store();
        let old = secret_of(6000);
        store.set(KEY, "label", &old).unwrap();
        let before = items(&store);
        let long = Secret::new(format!("SECRET-{}", "y".repeat(MAX_TOTAL)));
        let err = store.set(KEY, "label", &long).unwrap_err();
        assert_eq!(
            err,
            BackendError::TooLong {
                kind: StoreKind::Windows,
                len: MAX_TOTAL + 7,
                max: MAX_TOTAL
            }
        );
        let text = err.to_string();
        assert!(text.contains("65536 bytes the windows store"), "{text}");
        assert!(
            text.contains("DOCKER_CREDENTIAL_KEYRING_STORE=file"),
            "{text}"
        );
        assert!(!text.contains("SECRET-"), "{text}");
        assert_eq!(items(&store), before);
        assert_eq!(store.get(KEY).unwrap(), Some(old));
    }

    #[test]
    fn a_short_secret_that_starts_like_a_head_is_stored_as_a_set() {
        let store = store();
        let tricky = Secret::new(format!("{MAGIC}slot=0 parts=1 bytes=3 sha256=00"));
        store.set(KEY, "label", &tricky).unwrap();
        assert_eq!(items(&store), with_head(parts(0, 1)));
        assert_eq!(store.get(KEY).unwrap(), Some(tricky));
    }

    #[test]
    fn each_write_uses_the_other_slot_and_leaves_no_part_of_the_old_secret() {
        let store = store();
        let (a, b, small) = (secret_of(7000), secret_of(3000), Secret::from("short"));
        store.set(KEY, "label", &a).unwrap();
        assert_eq!(items(&store), with_head(parts(0, 3)));
        store.set(KEY, "label", &b).unwrap();
        assert_eq!(items(&store), with_head(parts(1, 2)));
        assert_eq!(store.get(KEY).unwrap(), Some(b));
        store.set(KEY, "label", &a).unwrap();
        assert_eq!(items(&store), with_head(parts(0, 3)));
        store.set(KEY, "label", &small).unwrap();
        assert_eq!(items(&store), [KEY]);
        assert_eq!(store.get(KEY).unwrap(), Some(small));
    }

    #[test]
    fn delete_removes_the_head_and_every_part() {
        let store = store();
        store.set(KEY, "label", &secret_of(9000)).unwrap();
        store
            .items()
            .set("other.example", "label", &Secret::from("kept"))
            .unwrap();
        assert!(store.delete(KEY).unwrap());
        assert_eq!(items(&store), ["other.example"]);
        assert_eq!(store.get(KEY).unwrap(), None);
        assert!(!store.delete(KEY).unwrap());
    }

    /// A writer killed between parts: the parts are there, the head is not.
    /// The old secret (or none) is read, never a mix, and the next write or
    /// removal of the key removes what the killed one left.
    #[test]
    fn parts_a_killed_writer_left_are_never_read_and_are_removed_later() {
        let store = store();
        let old = secret_of(6000);
        store.set(KEY, "label", &old).unwrap();
        // Killed after writing 5 of the new secret's parts into slot 1.
        let killed = Secret::new("k".repeat(5 * PART_MAX));
        store.write_parts(KEY, "label", 1, &killed).unwrap();
        assert_eq!(store.get(KEY).unwrap(), Some(old.clone()));
        // The next write of a short secret removes them all.
        store.set(KEY, "label", &Secret::from("s")).unwrap();
        assert_eq!(items(&store), [KEY]);

        // No secret before: nothing is read, and a following store cleans up,
        // whichever slot the killed writer used.
        for slot in [0, 1] {
            assert!(store.delete(KEY).unwrap());
            store.write_parts(KEY, "label", slot, &killed).unwrap();
            assert_eq!(store.get(KEY).unwrap(), None);
            store.set(KEY, "label", &old).unwrap();
            assert_eq!(items(&store), with_head(parts(0, 3)));
            assert_eq!(store.get(KEY).unwrap(), Some(old.clone()));
        }
        // A removal cut short after the head went: the next removal finishes it.
        store.items().delete(KEY).unwrap();
        assert_eq!(store.get(KEY).unwrap(), None);
        assert!(!store.delete(KEY).unwrap());
        assert!(items(&store).is_empty());
    }

    #[test]
    fn a_failed_write_keeps_the_old_secret_and_leaves_no_new_part() {
        let store = store();
        let old = secret_of(6000);
        store.set(KEY, "label", &old).unwrap();
        let before = items(&store);
        // A part fails, then the head does.
        for failing in [part_key(KEY, 1, 2), KEY.to_owned()] {
            store.items().fail_set_of(Some(&failing));
            let err = store.set(KEY, "label", &secret_of(20_000)).unwrap_err();
            assert!(matches!(err, BackendError::Failed { .. }), "{err:?}");
            assert_eq!(items(&store), before);
            assert_eq!(store.get(KEY).unwrap(), Some(old.clone()));
        }
    }

    #[test]
    fn a_set_that_does_not_add_up_is_an_error_never_a_partial_secret() {
        let store = store();
        let secret = Secret::new(format!("SECRET-{}", "z".repeat(8000)));
        type Damage = fn(&Chunked<MemoryStore>);
        let damage: [(&str, Damage); 4] = [
            ("part 2 of 4 is missing", |s| {
                s.items().delete(&part_key(KEY, 0, 1)).unwrap();
            }),
            ("do not match the recorded digest", |s| {
                let part = Secret::from("SECRET-zzz");
                s.items().set(&part_key(KEY, 0, 0), "l", &part).unwrap();
            }),
            ("longer than recorded", |s| {
                let part = Secret::new("z".repeat(PART_MAX));
                s.items().set(&part_key(KEY, 0, 3), "l", &part).unwrap();
            }),
            ("its first entry is unreadable", |s| {
                let head = Secret::new(format!("{MAGIC}slot=0 parts=4"));
                s.items().set(KEY, "l", &head).unwrap();
            }),
        ];
        for (what, damage) in damage {
            store.set(KEY, "label", &secret).unwrap();
            damage(&store);
            let err = store.get(KEY).unwrap_err();
            assert!(matches!(err, BackendError::Corrupt { .. }), "{err:?}");
            let text = err.to_string();
            assert!(text.contains(what), "{text}");
            assert!(text.contains("store the credential again"), "{text}");
            assert!(!text.contains("SECRET-"), "{text}");
            // It does not block its own replacement or removal.
            assert_eq!(BackendError::unless_corrupt(store.get(KEY)), Ok(None));
            assert!(store.delete(KEY).unwrap());
            assert!(items(&store).is_empty(), "{what}");
        }
        store.set(KEY, "label", &secret).unwrap();
        store.items().delete(&part_key(KEY, 0, 3)).unwrap();
        store.set(KEY, "label", &Secret::from("fresh")).unwrap();
        assert_eq!(items(&store), [KEY]);
    }

    #[test]
    fn the_head_records_slot_count_length_and_digest() {
        let secret = secret_of(6000);
        let head = Head {
            slot: 1,
            parts: 3,
            bytes: 6000,
            sha256: sha256_hex(&secret),
        };
        let text = head.render();
        assert!(text.len() < 200, "{text:?}");
        assert_eq!(Head::parse(&text), Ok(Some(head)));
        assert_eq!(Head::parse("plain"), Ok(None));
        let digest = "0".repeat(64);
        for bad in [
            format!("{MAGIC}slot=2 parts=3 bytes=6000 sha256={digest}"),
            format!("{MAGIC}slot=0 parts=0 bytes=0 sha256={digest}"),
            format!("{MAGIC}slot=0 parts=3 bytes=70000 sha256={digest}"),
            format!("{MAGIC}slot=0 parts=3 bytes=6000 sha256=xyz"),
            format!("{MAGIC}slot=0 parts=3 bytes=6000 sha256={digest} more"),
            format!("{MAGIC}parts=3 slot=0 bytes=6000 sha256={digest}"),
        ] {
            assert!(Head::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
