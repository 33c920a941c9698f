//! The Wi-Fi station: join, and rejoin after every drop with a backoff up to a minute; the
//! network stack's runner. New credentials from Improv (the console task) are tried at once:
//! kept when they join within 20 s, else the previous ones are restored. Improv's scans run here
//! too, between joining attempts or while joined (a station may scan without leaving).

use alloc::string::String;
use alloc::vec::Vec;

use embassy_futures::select::{select, Either};
use embassy_net::Runner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{with_timeout, Duration, Timer};
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::scan::ScanConfig;
use esp_radio::wifi::{AuthenticationMethod, AuthenticationMethodConfig, Interface, WifiController};
use halyard_node_core::config::Config;
use log::{info, warn};

/// Credentials to try now (SSID, password), from Improv.
pub static JOIN: Signal<CriticalSectionRawMutex, (String, String)> = Signal::new();
/// Whether they joined.
pub static JOINED: Signal<CriticalSectionRawMutex, bool> = Signal::new();
/// List the networks in range (Improv).
pub static SCAN: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// What the scan heard: (SSID, RSSI in dBm, needs a password).
pub static SCANNED: Signal<CriticalSectionRawMutex, Vec<(String, i8, bool)>> = Signal::new();

/// What Improv asks of the station.
enum Ask {
    Join((String, String)),
    Scan,
}

async fn asked() -> Ask {
    match select(JOIN.wait(), SCAN.wait()).await {
        Either::First(creds) => Ask::Join(creds),
        Either::Second(()) => Ask::Scan,
    }
}

/// Scan, and hand the networks to the console task (an empty list when the scan fails: the
/// browser then asks for the network's name instead).
async fn scan(wifi: &mut WifiController<'static>) {
    let heard = match with_timeout(Duration::from_secs(10), wifi.scan_async(&ScanConfig::default())).await {
        Ok(Ok(list)) => list
            .iter()
            .map(|ap| {
                let open = matches!(ap.auth_method, Some(AuthenticationMethod::None));
                (String::from(ap.ssid.as_str()), ap.signal_strength, !open)
            })
            .collect(),
        Ok(Err(e)) => {
            warn!("Wi-Fi scan: {e:?}");
            Vec::new()
        }
        Err(_) => {
            warn!("Wi-Fi scan: no answer in 10 s");
            Vec::new()
        }
    };
    SCANNED.signal(heard);
}

#[embassy_executor::task]
pub async fn net(mut runner: Runner<'static, Interface>) -> ! {
    runner.run().await
}

fn apply(wifi: &mut WifiController<'static>, ssid: &str, password: &str) {
    // The configuration checked both lengths (1–32, 8–64), which is what these conversions need.
    let auth = match password.try_into() {
        Ok(p) if !password.is_empty() => AuthenticationMethodConfig::Wpa2Personal(p),
        _ => AuthenticationMethodConfig::Open,
    };
    let station = StationConfig::default().with_ssid(ssid.try_into().unwrap_or_default()).with_authentication(auth);
    if let Err(e) = wifi.set_config(&esp_radio::wifi::Config::Station(station)) {
        warn!("Wi-Fi configuration: {e:?}");
    }
}

/// Try `new`; keep it when it joins, else go back to `current`.
async fn join(wifi: &mut WifiController<'static>, current: &mut (String, String), new: (String, String)) {
    info!("Wi-Fi: trying {} (Improv)", new.0);
    let _ = wifi.disconnect_async().await;
    apply(wifi, &new.0, &new.1);
    let joined = matches!(with_timeout(Duration::from_secs(20), wifi.connect_async()).await, Ok(Ok(_)));
    if joined {
        info!("Wi-Fi: joined {}", new.0);
        *current = new;
    } else {
        warn!("Wi-Fi: {} did not join; back to {}", new.0, current.0);
        apply(wifi, &current.0, &current.1);
    }
    JOINED.signal(joined);
}

#[embassy_executor::task]
pub async fn station(mut wifi: WifiController<'static>, config: Config) -> ! {
    let mut current = (String::from(config.get("wifi_ssid").unwrap_or("")), String::from(config.get("wifi_password").unwrap_or("")));
    if current.0.is_empty() {
        warn!("Wi-Fi: no wifi_ssid configured; set it on the USB console (help) or with Improv (ESP Web Tools)");
    }
    apply(&mut wifi, &current.0, &current.1);
    let mut backoff = 1;
    loop {
        if current.0.is_empty() {
            match asked().await {
                Ask::Join(new) => join(&mut wifi, &mut current, new).await,
                Ask::Scan => scan(&mut wifi).await,
            }
            continue;
        }
        match select(wifi.connect_async(), asked()).await {
            Either::First(Ok(_)) => {
                info!("Wi-Fi: joined {}", current.0);
                backoff = 1;
                let rejoined = loop {
                    match select(wifi.wait_for_disconnect_async(), asked()).await {
                        Either::First(_) => break false,
                        Either::Second(Ask::Scan) => scan(&mut wifi).await,
                        Either::Second(Ask::Join(new)) => {
                            join(&mut wifi, &mut current, new).await;
                            break true;
                        }
                    }
                };
                if rejoined {
                    continue;
                }
                warn!("Wi-Fi: disconnected");
            }
            Either::First(Err(e)) => warn!("Wi-Fi: {e:?}; again in {backoff} s"),
            // The attempt is abandoned for the request; the loop starts a new one.
            Either::Second(Ask::Scan) => {
                scan(&mut wifi).await;
                continue;
            }
            Either::Second(Ask::Join(new)) => {
                join(&mut wifi, &mut current, new).await;
                continue;
            }
        }
        Timer::after(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(60);
    }
}
