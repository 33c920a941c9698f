//! The node's checked-in partition table (`firmware/halyard-node/partitions.csv`) is one the
//! updates and roll-back can work with: the configuration sector where the firmware reads it
//! (`CONFIG_OFFSET` in main.rs), `otadata` of two sectors, two app slots of the same size, each
//! 64 KiB-aligned and large enough for an image with room to grow, nothing overlapping, all
//! within 4 MB of flash.

fn number(text: &str) -> u32 {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
        None => t.parse().unwrap(),
    }
}

#[test]
fn the_partition_table_fits_updates_and_roll_back() {
    let table = include_str!("../../../firmware/halyard-node/partitions.csv");
    let main = include_str!("../../../firmware/halyard-node/src/main.rs");
    let config_offset = main
        .lines()
        .find_map(|l| l.strip_prefix("pub const CONFIG_OFFSET: u32 = "))
        .map(|v| number(v.trim_end_matches(';')))
        .expect("main.rs names CONFIG_OFFSET");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(',').map(str::trim).collect())
        .collect();
    let find = |name: &str| rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("no {name} partition"));
    let offset = |r: &Vec<&str>| number(r[3]);
    let size = |r: &Vec<&str>| number(r[4]);
    let nvs = find("nvs");
    assert!(offset(nvs) == config_offset && size(nvs) >= 0x1000, "the configuration sector is in nvs");
    let otadata = find("otadata");
    assert_eq!((otadata[1], otadata[2], size(otadata)), ("data", "ota", 0x2000));
    let (a, b) = (find("ota_0"), find("ota_1"));
    assert_eq!((a[1], b[1]), ("app", "app"));
    assert_eq!(size(a), size(b), "either slot takes the other's image");
    for slot in [a, b] {
        assert_eq!(offset(slot) % 0x10000, 0, "app partitions are 64 KiB-aligned");
        // Today's image is about 1.1 MB: half as much again to grow.
        assert!(size(slot) >= 1_700_000, "{} is {} bytes", slot[0], size(slot));
    }
    let mut spans: Vec<(u32, u32)> = rows.iter().map(|r| (offset(r), offset(r) + size(r))).collect();
    spans.sort();
    assert!(spans[0].0 >= 0x9000, "the bootloader and the table come first");
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap: {w:?}");
    }
    assert!(spans.last().unwrap().1 <= 4 << 20, "within 4 MB");
}
