//! Fixtures shared by the integration tests.

/// Appends one PNG chunk (length, type, data, CRC) to `out`.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32fast::hash(&crc_input).to_be_bytes());
}

/// A PNG whose IHDR declares `width × height` RGBA pixels, followed by a token IDAT (an empty
/// zlib stream): the shape of a decompression bomb, whose data would inflate to the declared
/// size.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// Every `fill` attribute of every element, parsed as XML.
pub fn fills(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).expect("the SVG is valid XML");
    document
        .descendants()
        .filter_map(|node| node.attribute("fill").map(str::to_owned))
        .collect()
}
