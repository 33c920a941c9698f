//! The Wi-Fi station: join, and rejoin after every drop with a backoff up to a minute; the
//! network stack's runner.

use embassy_net::Runner;
use embassy_time::{Duration, Timer};
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Interface, WifiController};
use halyard_node_core::config::Config;
use log::{info, warn};

#[embassy_executor::task]
pub async fn net(mut runner: Runner<'static, Interface>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
pub async fn station(mut wifi: WifiController<'static>, config: Config) -> ! {
    let ssid = config.get("wifi_ssid").unwrap_or("");
    let password = config.get("wifi_password").unwrap_or("");
    if ssid.is_empty() {
        warn!("Wi-Fi: no wifi_ssid configured; set it on the USB console (help)");
    }
    // The configuration checked both lengths (1–32, 8–64), which is what these conversions need.
    let auth = match password.try_into() {
        Ok(p) if !password.is_empty() => AuthenticationMethodConfig::Wpa2Personal(p),
        _ => AuthenticationMethodConfig::Open,
    };
    let station = StationConfig::default().with_ssid(ssid.try_into().unwrap_or_default()).with_authentication(auth);
    if let Err(e) = wifi.set_config(&esp_radio::wifi::Config::Station(station)) {
        warn!("Wi-Fi configuration: {e:?}");
    }
    let mut backoff = 1;
    loop {
        match wifi.connect_async().await {
            Ok(_) => {
                info!("Wi-Fi: joined {ssid}");
                backoff = 1;
                let _ = wifi.wait_for_disconnect_async().await;
                warn!("Wi-Fi: disconnected");
            }
            Err(e) => warn!("Wi-Fi: {e:?}; again in {backoff} s"),
        }
        Timer::after(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(60);
    }
}
