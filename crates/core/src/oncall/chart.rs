//! The report's chart: bars per time bucket for a few series side by side, drawn in-process with
//! plotters into an RGB buffer and encoded as PNG. No fonts are drawn (none to ship or find on
//! the host): the message the chart comes with names the series, their colours and the buckets.

use plotters::prelude::*;

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 300;
const MARGIN: i32 = 20;

/// One series: its count per bucket, and its colour.
pub struct Series<'a> {
    pub counts: &'a [u32],
    pub color: RGBColor,
}

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// A PNG of `series` as bars, bucket by bucket from left to right, over grid lines at round
/// counts.
pub fn bars(series: &[Series<'_>]) -> Result<Vec<u8>, ChartError> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut rgb, series).map_err(|e| ChartError::Draw(e.to_string()))?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(bytes)
}

fn draw(rgb: &mut [u8], series: &[Series<'_>]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let buckets = series.iter().map(|series| series.counts.len()).max().unwrap_or(0).max(1);
    let highest = series.iter().flat_map(|series| series.counts.iter().copied()).max().unwrap_or(0).max(1);
    let (left, top) = (MARGIN, MARGIN);
    let (plot_width, plot_height) = (WIDTH as i32 - 2 * MARGIN, HEIGHT as i32 - 2 * MARGIN);
    let bottom = top + plot_height;
    let y_of = |count: u32| bottom - (i64::from(count) * i64::from(plot_height) / i64::from(highest)) as i32;
    // A grid line per step of a round number, so bars can be read against each other.
    let step = grid_step(highest);
    let grid = RGBColor(225, 225, 225);
    for count in (step..=highest).step_by(step as usize) {
        root.draw(&PathElement::new([(left, y_of(count)), (left + plot_width, y_of(count))], grid))?;
    }
    let bucket_width = plot_width as f64 / buckets as f64;
    let bar_width = (bucket_width * 0.8 / series.len().max(1) as f64).max(1.0);
    for (index, one) in series.iter().enumerate() {
        for (bucket, &count) in one.counts.iter().enumerate().filter(|(_, count)| **count > 0) {
            let x = left as f64 + bucket as f64 * bucket_width + bucket_width * 0.1 + index as f64 * bar_width;
            let (x0, x1) = (x.round() as i32, (x + bar_width).round().max(x.round() + 1.0) as i32);
            root.draw(&Rectangle::new([(x0, y_of(count)), (x1, bottom)], one.color.filled()))?;
        }
    }
    root.draw(&PathElement::new([(left, bottom), (left + plot_width, bottom)], BLACK))?;
    root.present()?;
    Ok(())
}

/// 1, 2, 5, 10, 20, 50, …: the round step giving at most about five grid lines up to `highest`.
fn grid_step(highest: u32) -> u32 {
    let mut magnitude = 1u32;
    loop {
        for mantissa in [1, 2, 5] {
            let step = mantissa * magnitude;
            if highest / step <= 5 {
                return step;
            }
        }
        magnitude *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_of_the_agreed_size_with_bars_where_counts_are() {
        let opened = [3, 0, 7, 1];
        let pages = [1, 0, 2, 0];
        let series = [Series { counts: &opened, color: BLUE }, Series { counts: &pages, color: RED }];
        let bytes = bars(&series).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (WIDTH, HEIGHT, png::ColorType::Rgb));
        let pixel = |x: u32, y: u32| {
            let at = ((y * WIDTH + x) * 3) as usize;
            (rgb[at], rgb[at + 1], rgb[at + 2])
        };
        // The tallest bar (7, third bucket, first series) reaches the top of the plot.
        let bucket = (WIDTH - 40) / 4;
        assert_eq!(pixel(20 + 2 * bucket + bucket / 5, 25), (0, 0, 255));
        // Nothing is drawn over the empty second bucket.
        assert_eq!(pixel(20 + bucket + bucket / 2, HEIGHT / 2), (255, 255, 255));
    }

    #[test]
    fn grid_steps_are_round() {
        assert_eq!([1, 5, 6, 12, 40, 90, 1000].map(grid_step), [1, 1, 2, 5, 10, 20, 200]);
    }
}
