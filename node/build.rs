//! Embeds the web app's built bundle (`web/dist`, committed; rebuilt with
//! `scripts/build-web.sh` and checked by `scripts/check-web.sh`) into the
//! node, so that `cargo build` needs no npm and the node serves its pages
//! with no second server. Each file is stored as built and gzipped (served
//! as such to browsers that accept it), with its content type and an ETag.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    if dist.is_dir() {
        walk(&dist, &dist, &mut files);
    }
    files.sort();
    let mut table = String::from("/// The web app's files: (URL path, content type, ETag, file, gzipped file).\npub static ASSETS: &[Asset] = &[\n");
    for (i, rel) in files.iter().enumerate() {
        let path = dist.join(rel);
        let bytes = std::fs::read(&path).expect("read a web/dist file");
        let gz = out.join(format!("asset-{i}.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&bytes).expect("gzip in memory");
        std::fs::write(&gz, enc.finish().expect("gzip in memory")).expect("write OUT_DIR");
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let url = format!("/{}", rel.replace('\\', "/"));
        table.push_str(&format!(
            "    Asset {{ path: {url:?}, content_type: {:?}, etag: \"\\\"{:016x}\\\"\", body: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
            content_type(&url),
            h.finish(),
            path.canonicalize().expect("canonical path").display().to_string(),
            gz.display().to_string(),
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("web_assets.rs"), table).expect("write OUT_DIR");
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read web/dist") {
        let path = entry.expect("read web/dist").path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under the root");
            files.push(rel.to_string_lossy().into_owned());
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
