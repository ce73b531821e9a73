"""`ImageProcessor` with Pillow. The size is read from the header before anything is
decoded, so a decompression bomb (a few KB claiming 10,000 x 10,000 pixels) is refused
without the gigabytes; decoding runs in a thread, at most `concurrency` at once."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from services.chat.domain import Invalid
from services.chat.ports import ImageInfo

# The raster types `domain.files.RASTER_TYPES` names, in Pillow's words: nothing else is
# even tried (no PSD, TIFF or other decoder sees an upload).
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
_BROKEN = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def _too_large(max_pixels: int) -> Invalid:
    return Invalid("image_too_large", f"The image has more than {max_pixels} pixels.")


def _not_an_image() -> Invalid:
    return Invalid("content_type_mismatch", "The file is not a readable image.")


class PillowImageProcessor:
    def __init__(self, max_pixels: int, concurrency: int = 2) -> None:
        self.max_pixels = max_pixels
        # Pillow warns on opening what it thinks is a bomb; every such image is refused
        # here before decoding, so its warning says nothing more.
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        self._decoding = asyncio.Semaphore(concurrency)

    def _open(self, path: Path) -> Image.Image:
        try:
            image = Image.open(path, formats=FORMATS)
        except Image.DecompressionBombError:  # Pillow's own bound (twice its default)
            raise _too_large(self.max_pixels) from None
        except (UnidentifiedImageError, *_BROKEN):
            raise _not_an_image() from None
        width, height = image.size
        if width <= 0 or height <= 0:
            image.close()
            raise _not_an_image()
        if width * height > self.max_pixels:
            image.close()
            raise _too_large(self.max_pixels)
        return image

    def _inspect(self, path: Path) -> ImageInfo:
        with self._open(path) as image:
            width, height = image.size
        return ImageInfo(width=width, height=height)

    def _thumbnail(self, path: Path, dest: Path, max_side: int) -> bool:
        with self._open(path) as image:
            try:
                image.draft("RGB", (max_side, max_side))  # JPEG: decode at a smaller scale
                image.thumbnail((max_side, max_side))
                small = ImageOps.exif_transpose(image)
                if small.mode not in ("RGB", "RGBA"):
                    small = small.convert("RGBA" if "transparency" in small.info
                                          or small.mode in ("LA", "PA", "P") else "RGB")
                small.save(dest, "WEBP", quality=80)
            except _BROKEN:
                dest.unlink(missing_ok=True)
                return False
        return True

    def _square(self, path: Path, dest: Path, side: int) -> None:
        with self._open(path) as image:
            try:
                image.draft("RGB", (side * 2, side * 2))
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in ("RGB", "RGBA"):
                    upright = upright.convert("RGBA")
                ImageOps.fit(upright, (side, side), centering=(0.5, 0.5)).save(dest, "PNG")
            except _BROKEN:
                dest.unlink(missing_ok=True)
                raise _not_an_image() from None

    async def inspect(self, path: Path) -> ImageInfo:
        return await asyncio.to_thread(self._inspect, path)

    async def thumbnail(self, path: Path, dest: Path, max_side: int) -> bool:
        async with self._decoding:
            return await asyncio.to_thread(self._thumbnail, path, dest, max_side)

    async def square(self, path: Path, dest: Path, side: int) -> None:
        async with self._decoding:
            await asyncio.to_thread(self._square, path, dest, side)
