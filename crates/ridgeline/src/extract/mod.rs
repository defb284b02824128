//! Minutiae extraction: image in, template out (issue #2). One submodule per intermediate product.
