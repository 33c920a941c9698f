//! Over-the-air updates over MQTT, in chunks, checked by size and SHA-256 before the new image
//! may boot, and rolled back by the bootloader if it does not confirm itself.
//!
//! Messages (under `<root>/node/<id>/ota/`): `begin` = `<size> <sha256 hex>`; `chunk/<offset>` =
//! the bytes at that offset (chunks in order; a repeated chunk is acknowledged again, a gap is
//! refused with the offset expected); `abort`. The node answers on `<root>/node/<id>/ota/status`.
//! After the last chunk the image is verified; only then is the other OTA slot marked to boot.
//! The new image runs "pending verify" and must connect to the broker and call
//! [`Confirmation::connected`] within [`CONFIRM_MS`]; otherwise the node restarts and the
//! bootloader returns to the previous image (ESP-IDF app rollback, `ESP_OTA_IMG_PENDING_VERIFY`).

use alloc::format;
use alloc::string::String;
use sha2::{Digest, Sha256};

/// A new image must confirm itself this soon after booting, ms.
pub const CONFIRM_MS: u64 = 5 * 60_000;

/// The flash refused an erase or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotError;

/// Where the image goes (the inactive OTA partition).
pub trait Slot {
    /// Its size, bytes (`&mut`: finding it may read the partition table from flash).
    fn capacity(&mut self) -> u32;
    /// Erase before writing.
    fn erase(&mut self) -> Result<(), SlotError>;
    /// Write `data` at `offset`.
    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), SlotError>;
}

/// Why an update stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtaError {
    /// `begin` was not `<size> <64 hex digits>`.
    BadBegin,
    /// Larger than the slot.
    TooLarge {
        /// Bytes announced.
        size: u32,
        /// Bytes the slot holds.
        capacity: u32,
    },
    /// A chunk with no update in progress.
    NotStarted,
    /// A chunk that is not the next one.
    OutOfOrder {
        /// The offset expected.
        expected: u32,
    },
    /// More bytes than announced.
    Overrun,
    /// The flash refused.
    Flash,
    /// The whole image does not hash to the announced SHA-256.
    DigestMismatch,
}

impl core::fmt::Display for OtaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OtaError::BadBegin => f.write_str("begin must be `<size> <sha256 hex>`"),
            OtaError::TooLarge { size, capacity } => write!(f, "{size} bytes do not fit in {capacity}"),
            OtaError::NotStarted => f.write_str("no update in progress"),
            OtaError::OutOfOrder { expected } => write!(f, "expected the chunk at {expected}"),
            OtaError::Overrun => f.write_str("more bytes than announced"),
            OtaError::Flash => f.write_str("flash write failed"),
            OtaError::DigestMismatch => f.write_str("SHA-256 does not match: image discarded"),
        }
    }
}

/// What a step achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Ready for the chunk at this offset.
    Next(u32),
    /// The image is complete and verified: mark the slot bootable and restart.
    Verified,
}

/// The receiving state machine.
#[derive(Default)]
pub struct Update {
    job: Option<Job>,
}

struct Job {
    size: u32,
    digest: [u8; 32],
    written: u32,
    hasher: Sha256,
}

impl Update {
    /// In progress.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// `begin`: `<size> <sha256 hex>`.
    pub fn begin(&mut self, text: &str, slot: &mut dyn Slot) -> Result<Progress, OtaError> {
        let mut parts = text.split_whitespace();
        let size: u32 = parts.next().and_then(|s| s.parse().ok()).filter(|s| *s > 0).ok_or(OtaError::BadBegin)?;
        let mut digest = [0u8; 32];
        let hex = parts.next().filter(|h| h.len() == 64).ok_or(OtaError::BadBegin)?;
        if halyard_proto::hex::decode_into(hex.as_bytes(), &mut digest).ok() != Some(32) {
            return Err(OtaError::BadBegin);
        }
        let capacity = slot.capacity();
        if size > capacity {
            return Err(OtaError::TooLarge { size, capacity });
        }
        slot.erase().map_err(|SlotError| OtaError::Flash)?;
        self.job = Some(Job { size, digest, written: 0, hasher: Sha256::new() });
        Ok(Progress::Next(0))
    }

    /// `chunk/<offset>`.
    pub fn chunk(&mut self, offset: u32, data: &[u8], slot: &mut dyn Slot) -> Result<Progress, OtaError> {
        let job = self.job.as_mut().ok_or(OtaError::NotStarted)?;
        // The broker delivered it twice (QoS 1): already written.
        if offset + data.len() as u32 == job.written && !data.is_empty() {
            return Ok(Progress::Next(job.written));
        }
        if offset != job.written {
            return Err(OtaError::OutOfOrder { expected: job.written });
        }
        if job.written + data.len() as u32 > job.size {
            self.job = None;
            return Err(OtaError::Overrun);
        }
        if slot.write(offset, data).is_err() {
            self.job = None;
            return Err(OtaError::Flash);
        }
        job.hasher.update(data);
        job.written += data.len() as u32;
        if job.written < job.size {
            return Ok(Progress::Next(job.written));
        }
        let job = self.job.take().expect("present");
        if job.hasher.finalize().as_slice() == job.digest {
            Ok(Progress::Verified)
        } else {
            Err(OtaError::DigestMismatch)
        }
    }

    /// `abort`.
    pub fn abort(&mut self) {
        self.job = None;
    }

    /// The status text for `<root>/node/<id>/ota/status`.
    pub fn status(result: &Result<Progress, OtaError>) -> String {
        match result {
            Ok(Progress::Next(n)) => format!("next {n}"),
            Ok(Progress::Verified) => String::from("verified; restarting into the new image"),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// Failed boots of an unconfirmed image before it is given up (a crash loop would otherwise
/// restart the probation on every boot, and never reach its deadline).
pub const MAX_TRIAL_BOOTS: u32 = 3;

/// The boot counter, kept across resets in memory that survives them (the ESP32's RTC fast
/// memory: panics, watchdog and software resets keep it, a power cut clears it — and a power cut
/// is not a failed boot). Stored as a marker and a count, so random memory after power-up reads
/// as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootCount {
    /// The word kept across resets.
    pub stored: u64,
}

const BOOT_MARK: u64 = 0x4E42_4F4F_5400_0000; // "NBOOT"

impl BootCount {
    /// At boot: `stored` as read, `pending` whether the image is unconfirmed. Returns the word to
    /// store back and whether to give up on the image now.
    pub fn at_boot(stored: u64, pending: bool) -> (u64, BootAction) {
        if !pending {
            return (0, BootAction::None);
        }
        let count = if stored & !0xFFFF == BOOT_MARK { (stored & 0xFFFF) as u32 } else { 0 };
        let count = count.saturating_add(1).min(0xFFFF);
        let action = if count > MAX_TRIAL_BOOTS { BootAction::RollBack } else { BootAction::None };
        (BOOT_MARK | u64::from(count), action)
    }
}

/// After booting a new image: confirm it once the broker is reached, else roll back. The
/// deadline counts from boot, whatever the network does (no address, no broker, a refused
/// login): an image that never gets that far is given up all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    deadline: Option<u64>,
}

/// What the firmware should do with the boot slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootAction {
    /// Nothing (a confirmed image, or still within the deadline).
    None,
    /// Mark the running image valid.
    Confirm,
    /// Restart: the bootloader returns to the previous image.
    RollBack,
}

impl Confirmation {
    /// At boot; `pending` when the running image has not been confirmed yet.
    pub fn at_boot(pending: bool, now: u64) -> Self {
        Confirmation { deadline: pending.then_some(now + CONFIRM_MS) }
    }

    /// The MQTT session is up: the image works.
    pub fn connected(&mut self) -> BootAction {
        match self.deadline.take() {
            Some(_) => BootAction::Confirm,
            None => BootAction::None,
        }
    }

    /// The timer.
    pub fn poll(&self, now: u64) -> BootAction {
        match self.deadline {
            Some(d) if now >= d => BootAction::RollBack,
            _ => BootAction::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    struct Ram(Vec<u8>, u32);
    impl Slot for Ram {
        fn capacity(&mut self) -> u32 {
            self.1
        }
        fn erase(&mut self) -> Result<(), SlotError> {
            self.0.clear();
            Ok(())
        }
        fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), SlotError> {
            assert_eq!(offset as usize, self.0.len());
            self.0.extend_from_slice(data);
            Ok(())
        }
    }

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn chunks_in_order_verified_by_sha256() {
        let image: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut slot = Ram(Vec::new(), 1 << 20);
        let mut u = Update::default();
        let begin = format!("{} {}", image.len(), hex(&Sha256::digest(&image)));
        assert_eq!(u.begin(&begin, &mut slot), Ok(Progress::Next(0)));
        let mut offset = 0;
        let mut last = Ok(Progress::Next(0));
        for c in image.chunks(4096) {
            last = u.chunk(offset, c, &mut slot);
            // The same chunk again (QoS 1 redelivery) is acknowledged, not written twice.
            if offset == 0 {
                assert_eq!(u.chunk(0, c, &mut slot), Ok(Progress::Next(4096)));
            }
            offset += c.len() as u32;
        }
        assert_eq!(last, Ok(Progress::Verified));
        assert_eq!(slot.0, image);
        assert!(!u.busy());
    }

    #[test]
    fn a_wrong_digest_a_gap_and_a_too_large_image_are_refused() {
        let image = [1u8; 100];
        let mut slot = Ram(Vec::new(), 1000);
        let mut u = Update::default();
        u.begin(&format!("100 {}", hex(&[0u8; 32])), &mut slot).unwrap();
        assert_eq!(u.chunk(50, &image[50..], &mut slot), Err(OtaError::OutOfOrder { expected: 0 }));
        assert_eq!(u.chunk(0, &image, &mut slot), Err(OtaError::DigestMismatch));
        assert_eq!(
            u.begin(&format!("5000 {}", hex(&[0u8; 32])), &mut slot),
            Err(OtaError::TooLarge { size: 5000, capacity: 1000 })
        );
        assert_eq!(u.begin("100 nothex", &mut slot), Err(OtaError::BadBegin));
        assert_eq!(u.chunk(0, &image, &mut slot), Err(OtaError::NotStarted));
        u.begin(&format!("10 {}", hex(&Sha256::digest([1u8; 10]))), &mut slot).unwrap();
        assert_eq!(u.chunk(0, &image, &mut slot), Err(OtaError::Overrun));
    }

    #[test]
    fn a_new_image_confirms_itself_or_rolls_back() {
        let mut c = Confirmation::at_boot(true, 1_000);
        assert_eq!(c.poll(1_000 + CONFIRM_MS - 1), BootAction::None);
        assert_eq!(c.connected(), BootAction::Confirm);
        assert_eq!(c.poll(u64::MAX), BootAction::None, "confirmed once");
        let silent = Confirmation::at_boot(true, 0);
        assert_eq!(silent.poll(CONFIRM_MS), BootAction::RollBack);
        assert_eq!(Confirmation::at_boot(false, 0).poll(u64::MAX), BootAction::None);
    }

    #[test]
    fn a_crash_looping_image_is_given_up_after_its_trial_boots() {
        let mut stored = 0x1234_5678_9ABC_DEF0; // whatever RAM held after power-up
        for boot in 1..=MAX_TRIAL_BOOTS {
            let (next, action) = BootCount::at_boot(stored, true);
            assert_eq!(action, BootAction::None, "boot {boot}");
            stored = next;
        }
        assert_eq!(BootCount::at_boot(stored, true).1, BootAction::RollBack);
        // A confirmed image clears the count.
        assert_eq!(BootCount::at_boot(stored, false), (0, BootAction::None));
        assert_eq!(BootCount::at_boot(0, true).1, BootAction::None);
    }
}
