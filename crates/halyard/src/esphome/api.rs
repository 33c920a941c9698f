//! The native API messages a Bluetooth-proxy reader needs, written from the documented message
//! ids and field numbers (ESPHome's `api.proto`, as the official client aioesphomeapi 46.23
//! ships it in `api_pb2`; read for its facts, not copied). Field names follow the definition.

/// `HelloRequest`: the client's first message.
pub const HELLO_REQUEST: u32 = 1;
/// `HelloResponse`.
pub const HELLO_RESPONSE: u32 = 2;
/// `AuthenticationRequest` (the old `ConnectRequest`): the API password of older firmware.
pub const AUTHENTICATION_REQUEST: u32 = 3;
/// `AuthenticationResponse`: sent by a device only when the password is wrong.
pub const AUTHENTICATION_RESPONSE: u32 = 4;
/// `DisconnectRequest`: either side is leaving.
pub const DISCONNECT_REQUEST: u32 = 5;
/// `DisconnectResponse`.
pub const DISCONNECT_RESPONSE: u32 = 6;
/// `PingRequest`: either side checks the other is there.
pub const PING_REQUEST: u32 = 7;
/// `PingResponse`.
pub const PING_RESPONSE: u32 = 8;
/// `DeviceInfoRequest`.
pub const DEVICE_INFO_REQUEST: u32 = 9;
/// `DeviceInfoResponse`.
pub const DEVICE_INFO_RESPONSE: u32 = 10;
/// `SubscribeBluetoothLEAdvertisementsRequest`.
pub const SUBSCRIBE_BLUETOOTH_LE_ADVERTISEMENTS: u32 = 66;
/// `BluetoothLEAdvertisementResponse`: one parsed advert (proxies without raw adverts).
pub const BLUETOOTH_LE_ADVERTISEMENT: u32 = 67;
/// `BluetoothLERawAdvertisementsResponse`: adverts as received, several per message.
pub const BLUETOOTH_LE_RAW_ADVERTISEMENTS: u32 = 93;

/// `BluetoothProxySubscriptionFlag.RAW_ADVERTISEMENTS`: send the advertising data as received.
pub const RAW_ADVERTISEMENTS: u32 = 1;

/// The API version Halyard speaks (the major must match the device's).
pub const API_VERSION: (u32, u32) = (1, 10);

/// `HelloRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Who is asking, shown in the device's log.
    #[prost(string, tag = "1")]
    pub client_info: String,
    /// API major version.
    #[prost(uint32, tag = "2")]
    pub api_version_major: u32,
    /// API minor version.
    #[prost(uint32, tag = "3")]
    pub api_version_minor: u32,
}

/// `HelloResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloResponse {
    /// API major version.
    #[prost(uint32, tag = "1")]
    pub api_version_major: u32,
    /// API minor version.
    #[prost(uint32, tag = "2")]
    pub api_version_minor: u32,
    /// Firmware, e.g. `bt-proxy (esphome v2025.10.0)`.
    #[prost(string, tag = "3")]
    pub server_info: String,
    /// The node's name.
    #[prost(string, tag = "4")]
    pub name: String,
}

/// `AuthenticationRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthenticationRequest {
    /// The API password (empty for none).
    #[prost(string, tag = "1")]
    pub password: String,
}

/// `AuthenticationResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthenticationResponse {
    /// The password was refused.
    #[prost(bool, tag = "1")]
    pub invalid_password: bool,
}

/// `DeviceInfoResponse` (the fields a log line needs).
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceInfoResponse {
    /// Node name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Its Wi-Fi MAC address.
    #[prost(string, tag = "3")]
    pub mac_address: String,
    /// ESPHome version.
    #[prost(string, tag = "4")]
    pub esphome_version: String,
    /// Board.
    #[prost(string, tag = "6")]
    pub model: String,
    /// What its Bluetooth proxy does (bit 5: raw advertisements); 0 for none.
    #[prost(uint32, tag = "15")]
    pub bluetooth_proxy_feature_flags: u32,
}

/// `SubscribeBluetoothLEAdvertisementsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeBluetoothLeAdvertisements {
    /// [`RAW_ADVERTISEMENTS`].
    #[prost(uint32, tag = "1")]
    pub flags: u32,
}

/// `BluetoothLERawAdvertisement`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RawAdvertisement {
    /// The address in the low 48 bits, most significant byte first as printed.
    #[prost(uint64, tag = "1")]
    pub address: u64,
    /// dBm.
    #[prost(sint32, tag = "2")]
    pub rssi: i32,
    /// Public or random.
    #[prost(uint32, tag = "3")]
    pub address_type: u32,
    /// The advertising data (AD structures), scan response included.
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

/// `BluetoothLERawAdvertisementsResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RawAdvertisements {
    /// Adverts heard since the last message.
    #[prost(message, repeated, tag = "1")]
    pub advertisements: Vec<RawAdvertisement>,
}

/// `BluetoothServiceData`: service or manufacturer data of a parsed advert.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServiceData {
    /// For manufacturer data, the company identifier in hex (`0x2e1`).
    #[prost(string, tag = "1")]
    pub uuid: String,
    /// The data.
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
}

/// `BluetoothLEAdvertisementResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Advertisement {
    /// As in [`RawAdvertisement`].
    #[prost(uint64, tag = "1")]
    pub address: u64,
    /// dBm.
    #[prost(sint32, tag = "3")]
    pub rssi: i32,
    /// Manufacturer data by company.
    #[prost(message, repeated, tag = "6")]
    pub manufacturer_data: Vec<ServiceData>,
}

/// A 48-bit address as the API carries it, as bytes in printed order.
pub fn mac(address: u64) -> [u8; 6] {
    let b = address.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// A parsed advert's company identifier (`0x2e1`, `0x02E1`, `737`).
pub fn company(uuid: &str) -> Option<u16> {
    match uuid.strip_prefix("0x").or_else(|| uuid.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => uuid.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn addresses_and_companies() {
        assert_eq!(mac(0xC03B_0A0B_0C0D), [0xC0, 0x3B, 0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(company("0x2e1"), Some(0x02E1));
        assert_eq!(company("0x02E1"), Some(0x02E1));
        assert_eq!(company("zz"), None);
    }

    #[test]
    fn a_raw_advert_in_protobuf_bytes() {
        // Field 1 varint address, field 2 zigzag rssi (-70 → 139), field 4 bytes.
        let a = RawAdvertisement { address: 0xC03B_0A0B_0C0D, rssi: -70, address_type: 0, data: vec![2, 1, 6] };
        let bytes = RawAdvertisements { advertisements: vec![a.clone()] }.encode_to_vec();
        assert_eq!(bytes[0], 0x0A, "field 1, length-delimited");
        let inner = &bytes[2..];
        assert_eq!(inner[0], 0x08);
        assert!(inner.windows(3).any(|w| w == [0x10, 0x8B, 0x01]), "{inner:02x?}");
        assert_eq!(RawAdvertisements::decode(&bytes[..]).unwrap().advertisements, [a]);
    }
}
