//! Raster results as PNG. The runner turns what a UDF returned (an array, an `xarray.DataArray`,
//! an `(array, bounds)` tuple) into raw RGBA bytes, row-major and north-up, and hands them over in
//! a file; this module encodes them with the `png` crate. Pure: bytes in, bytes out, so `serve`
//! encodes its `?format=png` tiles with the same functions.

use base64::Engine;
use serde_json::Value;

/// The longest side of the PNG carried in the run JSON (`result.raster.png_base64`): a larger
/// image is sampled down (nearest pixel) for it, while `-o out.png` writes it whole. A tile
/// (256 or 512 pixels) is never sampled down; the cap keeps the JSON that travels to the editor
/// to a few MiB at worst.
pub const JSON_MAX_SIDE: u32 = 1024;

/// Encodes `rgba` (`width * height * 4` bytes, row-major, the first row north) as an 8-bit RGBA
/// PNG. Fast compression: a map asks for many tiles and waits for each.
pub fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, String> {
    let want = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(4))
        .ok_or("the image is too large")?;
    if width == 0 || height == 0 || rgba.len() != want {
        return Err(format!(
            "{} bytes do not make a {width}×{height} RGBA image",
            rgba.len()
        ));
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(rgba).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The image sampled down (nearest pixel) so that neither side exceeds `max_side`, keeping its
/// aspect; the image itself when it already fits. `(width, height, rgba)`.
pub fn fit(width: u32, height: u32, rgba: &[u8], max_side: u32) -> (u32, u32, Vec<u8>) {
    let longest = width.max(height);
    if longest <= max_side || max_side == 0 {
        return (width, height, rgba.to_vec());
    }
    let scale = max_side as f64 / longest as f64;
    let (w, h) = (
        ((width as f64 * scale).round() as u32).max(1),
        ((height as f64 * scale).round() as u32).max(1),
    );
    let mut out = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h {
        // The source pixel whose centre is nearest this pixel's centre.
        let sy = (((y as f64 + 0.5) * height as f64 / h as f64) as u32).min(height - 1);
        for x in 0..w {
            let sx = (((x as f64 + 0.5) * width as f64 / w as f64) as u32).min(width - 1);
            let at = (sy as usize * width as usize + sx as usize) * 4;
            out.extend_from_slice(&rgba[at..at + 4]);
        }
    }
    (w, h, out)
}

/// The PNG of a run result (`fused_run::run`'s JSON), decoded from `result.raster.png_base64`;
/// `None` when the result is not a raster.
pub fn png_from_result(run_result: &Value) -> Option<Vec<u8>> {
    let b64 = run_result["result"]["raster"]["png_base64"].as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_decodes_to_the_same_pixels() {
        let rgba: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8 * 10).collect();
        let png = encode_png(2, 3, &rgba).unwrap();
        let mut dec = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; dec.output_buffer_size().unwrap()];
        let info = dec.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 3));
        assert_eq!(&buf[..info.buffer_size()], &rgba[..]);
        assert!(encode_png(2, 2, &rgba).is_err());
        assert!(encode_png(0, 0, &[]).is_err());
    }

    #[test]
    fn fitting_samples_the_nearest_pixels_and_keeps_the_aspect() {
        // 4×2, each pixel's red = its column, green = its row.
        let mut rgba = Vec::new();
        for y in 0..2u8 {
            for x in 0..4u8 {
                rgba.extend_from_slice(&[x, y, 0, 255]);
            }
        }
        let (w, h, out) = fit(4, 2, &rgba, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![1, 1, 0, 255, 3, 1, 0, 255]);
        assert_eq!(fit(4, 2, &rgba, 4).2, rgba);
    }
}
