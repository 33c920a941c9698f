//! OTA: the node-core state machine writes into the inactive OTA slot of the partition table
//! (esp-bootloader-esp-idf); a verified image is activated and marked `New`; the new image
//! confirms itself once it reaches the broker, or hands the boot back to the previous one.

use core::sync::atomic::{AtomicU8, Ordering};

use esp_bootloader_esp_idf::ota::OtaImageState;
use esp_bootloader_esp_idf::ota_updater::OtaUpdater;
use esp_bootloader_esp_idf::partitions::{AppPartitionSubType, FlashStorage, PARTITION_TABLE_MAX_LEN};
use halyard_node_core::ota::{BootAction, BootCount, Slot, SlotError, MAX_TRIAL_BOOTS};
use log::warn;

static RUNNING: AtomicU8 = AtomicU8::new(0xFF);

/// The running image's slot name, for the boot report.
pub fn running_image() -> &'static str {
    match RUNNING.load(Ordering::Relaxed) {
        0 => "factory",
        0x10 => "ota_0",
        0x11 => "ota_1",
        _ => "unknown",
    }
}

/// At boot: which slot runs, and whether it still has to prove itself (`New` or
/// `PendingVerify`).
pub fn at_boot(flash: &mut FlashStorage<'static>) -> bool {
    let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
    let Ok(mut updater) = OtaUpdater::new(flash, &mut table) else { return false };
    if let Ok(part) = updater.selected_partition() {
        RUNNING.store(part as u8, Ordering::Relaxed);
    }
    matches!(updater.current_ota_state(), Ok(OtaImageState::New | OtaImageState::PendingVerify))
}

/// Boots of an image still on probation, kept across resets (not power cuts) in RTC memory
/// (`halyard_node_core::ota::BootCount`).
#[esp_hal::ram(unstable(rtc_fast, persistent))]
static mut TRIAL_BOOTS: u64 = 0;

/// Count this boot, first thing after start-up: an image on probation that crashes before it
/// can reach the broker (a panic while starting Wi-Fi) would otherwise restart its 5 minutes on
/// every boot and never be given up.
pub fn count_boot(flash: &mut FlashStorage<'static>, pending: bool) {
    // SAFETY: one core; read and written here and in `confirm` only, never concurrently.
    let (next, verdict) = BootCount::at_boot(unsafe { core::ptr::read_volatile(&raw const TRIAL_BOOTS) }, pending);
    unsafe { core::ptr::write_volatile(&raw mut TRIAL_BOOTS, next) };
    if verdict == BootAction::RollBack {
        warn!("the new image failed {MAX_TRIAL_BOOTS} boots in a row: rolling back");
        roll_back(flash);
    }
}

/// Mark the running image valid.
pub fn confirm(flash: &mut FlashStorage<'static>) {
    // SAFETY: as in `count_boot`.
    unsafe { core::ptr::write_volatile(&raw mut TRIAL_BOOTS, 0) };
    let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
    if let Ok(mut u) = OtaUpdater::new(flash, &mut table) {
        let _ = u.set_current_ota_state(OtaImageState::Valid);
    }
}

/// The running image never reached the broker: mark it invalid and boot the other slot.
pub fn roll_back(flash: &mut FlashStorage<'static>) -> ! {
    let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
    if let Ok(mut u) = OtaUpdater::new(flash, &mut table) {
        let _ = u.set_current_ota_state(OtaImageState::Invalid);
        let _ = u.activate_next_partition();
    }
    esp_hal::system::software_reset()
}

/// A verified image: boot it next, on probation.
pub fn activate(flash: &mut FlashStorage<'static>) -> ! {
    let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
    if let Ok(mut u) = OtaUpdater::new(flash, &mut table) {
        let _ = u.activate_next_partition();
        let _ = u.set_current_ota_state(OtaImageState::New);
    }
    esp_hal::system::software_reset()
}

/// The inactive slot, as node-core's [`Slot`].
pub struct NextSlot<'a>(pub &'a mut FlashStorage<'static>);

impl NextSlot<'_> {
    fn with<R>(&mut self, f: impl FnOnce(&mut esp_bootloader_esp_idf::partitions::FlashRegion<'_, 'static>, AppPartitionSubType) -> R) -> Result<R, SlotError> {
        let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
        let mut updater = OtaUpdater::new(self.0, &mut table).map_err(|_| SlotError)?;
        let (mut region, kind) = updater.next_partition().map_err(|_| SlotError)?;
        Ok(f(&mut region, kind))
    }
}

impl Slot for NextSlot<'_> {
    fn capacity(&mut self) -> u32 {
        self.with(|r, _| embedded_storage::ReadStorage::capacity(r) as u32).unwrap_or(0)
    }

    fn erase(&mut self) -> Result<(), SlotError> {
        // esp-storage erases sectors as it writes them (read-modify-write per 4 KiB sector).
        Ok(())
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), SlotError> {
        self.with(|r, _| r.write(offset, data).map_err(|_| SlotError))?
    }
}
