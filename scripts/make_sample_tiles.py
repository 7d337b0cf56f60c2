#!/usr/bin/python3
"""Builds weipian's synthetic sample scene (sample_tiles/).

A 640 x 640 m scene in Jishan county (稷山县, 140824) at 1 m, EPSG:4546 (CGCS2000 3-degree
Gauss-Kruger, CM 111E), in two epochs of 2 x 2 tiles (4-band uint16 B,G,R,NIR, GF-2-like
surface reflectance x 10000), with the vector layers and the exact answer a correct run must give:

  qsx/QSX_20230410_r{0,1}c{0,1}.tif   before epoch (前时相), nodata strip at the west edge
  hsx/HSX_20230918_r{0,1}c{0,1}.tif   after epoch (后时相), 15 new construction objects
  townships.gpkg   layer "townships" (XZMC, XZQDM), EPSG:4490, x = lon, y = lat
  dltb.gpkg        layer "dltb" (三调-like DLBM, DLMC, ZLDWDM, TBMJ, TBDLMJ), EPSG:4546
  villages.gpkg    layer "cjdcq" (ZLDWMC, ZLDWDM), EPSG:4490
  yjjbnt.gpkg      layer "yjjbnttb" (永久基本农田), EPSG:4546
  sthx.gpkg        layer "sthx" (生态保护红线), EPSG:4490
  approvals.gpkg   layers "pzyd" (批准用地, PZWH) and "ssnyd" (设施农用地备案, STRKH), EPSG:4546
  leads.gpkg       layer "leads" (delivered leads 线索), EPSG:4490; leads_gbk.shp the same in GBK
  truth.csv        one row per construction object (per township part)
  README.md        what the scene holds and what a correct run reports

Usage:
  /usr/bin/python3 scripts/make_sample_tiles.py [OUT_DIR] [--check]
  /usr/bin/python3 scripts/make_sample_tiles.py [OUT_DIR] --check-only

--check re-reads the written files and verifies, with numpy and OGR, that the detector described
in the README finds exactly the truth objects (pixel for pixel), that nothing else survives
cleaning, and that the township and cultivated-land areas in truth.csv match the vector layers.
Output is byte-identical on every run (fixed seed, fixed GeoPackage timestamps, no TIFF dates
other than the fixed acquisition ones).
"""

import argparse
import csv
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()
# No .aux.xml side files, and fixed GeoPackage "last_change" timestamps (determinism).
gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")
gdal.SetConfigOption("OGR_CURRENT_DATE", "2023-10-01T00:00:00.000Z")

# --------------------------------------------------------------------------------------------
# Scene constants
# --------------------------------------------------------------------------------------------
SEED = 140824
SIZE = 640            # scene size in pixels (= metres)
TILE = 320            # tile size in pixels (2 x 2 tiles)
X0, Y0 = 497000.0, 3941000.0   # top-left corner of the scene in EPSG:4546 (easting, northing)
EPSG_GRID = 4546      # CGCS2000 / 3-degree GK CM 111E (no zone prefix)
EPSG_GEO = 4490       # CGCS2000 geographic
QSX_DATE, HSX_DATE = "2023-04-10", "2023-09-18"
GAIN, OFFSET = 1.04, 50.0       # after-epoch DN = GAIN * before-like DN + OFFSET (sensor/calibration)
NODATA_COLS = 10      # columns 0..9 of the before epoch are nodata (0 in all bands)
COUNTY_NAME, COUNTY_CODE = "稷山县", "140824"

# The detector the sample is built for (weipian's "construction" method) and its cleaning.
THRESHOLD = 0.15
BRIGHTNESS_WEIGHT = 1.0
AFTER_VEG_MAX = 0.3
MMU_M2 = 200
MU_PER_M2 = 0.0015

TOWNSHIP_FIELD_NAME, TOWNSHIP_FIELD_CODE = "XZMC", "XZQDM"
CULTIVATED = ("0101", "0102", "0103")

# Endmember spectra, surface reflectance x 10000, band order B, G, R, NIR.
E = {k: np.array(v, dtype=np.float64) for k, v in {
    "veg":        (250, 560, 320, 4000),   # green crop canopy
    "maize":      (230, 520, 290, 4300),   # summer maize canopy (slightly different crop)
    "sen":        (550, 800, 950, 2500),   # ripening / senescent canopy
    "soil":       (900, 1200, 1500, 2000), # dry loess soil
    "wetsoil":    (550, 650, 700, 850),    # puddled paddy soil
    "water":      (600, 700, 500, 300),
    "road":       (1000, 1150, 1300, 1700),  # gravel / dirt field road
    "lane":       (1300, 1400, 1500, 1700),  # old village concrete lanes
    "yard":       (1500, 1600, 1700, 1900),  # old courtyard concrete
    "yardsoil":   (1000, 1150, 1350, 1650),  # compacted courtyard soil
    "roof_grey":  (1800, 1900, 2000, 2200),  # concrete / grey coated roof
    "roof_blue":  (2200, 1800, 1300, 1500),  # blue steel sheet roof
    "roof_red":   (800, 900, 1250, 1600),    # red clay tiles
    "roof_dark":  (700, 750, 800, 1000),     # dark grey tiles
    "concrete":   (1600, 1700, 1800, 2000),  # new hardened ground
    "earth":      (1300, 1550, 1800, 2150),  # levelled bright earth (earthworks)
    "greenhouse": (2600, 2700, 2700, 3000),  # white greenhouse film
    "baysoil":    (1500, 1650, 1800, 2000),  # gravelled paths between greenhouse bays
}.items()}

# The form's land groups (GB/T 21010 三大类, pipeline/land_class.hpp) of the classes used here.
LAND_GROUP = {"0101": "cultivated", "0102": "cultivated", "0103": "cultivated",
              "0201": "other_agricultural", "1006": "other_agricultural", "1104": "other_agricultural",
              "0404": "unused", "0702": "construction"}

DLMC = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0404": "其他草地",
    "0702": "农村宅基地", "1006": "农村道路", "1104": "坑塘水面",
}

# Land patches (三调 图斑 and image fields at once), painted in order: (key, DLBM, scenario,
# row0, row1, col0, col1), half-open pixel ranges, row 0 = north. Together they tile the scene.
PATCHES = [
    ("N1", "0103", "fallow", 0, 100, 0, 160),
    ("N2", "0103", "wheat_maize", 100, 210, 0, 160),
    ("N3a", "0103", "spring_greenup", 0, 100, 164, 280),
    ("N3b", "0103", "wheat_maize", 0, 100, 280, 400),
    ("N4", "0103", "ripening", 100, 210, 164, 400),
    ("NE", "0404", "grass", 0, 210, 404, 640),
    ("VIL", "0702", "village", 20, 190, 424, 620),
    ("M1", "0101", "paddy", 214, 320, 0, 160),
    ("M2", "0404", "grass", 320, 426, 0, 160),
    ("POND", "1104", "pond", 340, 400, 40, 120),
    ("M3a", "0103", "ripening", 214, 426, 164, 280),
    ("M3b", "0102", "wheat_maize", 214, 426, 280, 400),
    ("M4", "0404", "grass", 214, 426, 404, 520),
    ("M5", "0201", "orchard", 214, 330, 520, 640),
    ("M6", "0103", "wheat_maize", 330, 426, 520, 640),
    ("S1a", "0103", "spring_greenup", 430, 500, 0, 160),
    ("S1b", "0103", "wheat_maize", 500, 570, 0, 160),
    ("S1c", "0102", "vegetable", 570, 640, 0, 160),
    ("S2", "0102", "vegetable", 430, 530, 164, 400),
    ("S3", "0103", "wheat_maize", 530, 640, 164, 400),
    ("S4a", "0102", "ripening", 430, 560, 404, 520),
    ("S4b", "0102", "vegetable", 430, 560, 520, 640),
    ("S5", "0404", "grass", 560, 640, 404, 640),
    # field roads (1006), 4 m wide; the east-west roads own the crossings
    ("RV1a", "1006", "road", 0, 210, 160, 164),
    ("RV1b", "1006", "road", 214, 426, 160, 164),
    ("RV1c", "1006", "road", 430, 640, 160, 164),
    ("RV2a", "1006", "road", 0, 210, 400, 404),
    ("RV2b", "1006", "road", 214, 426, 400, 404),
    ("RV2c", "1006", "road", 430, 640, 400, 404),
    ("RH1a", "1006", "road", 210, 214, 0, 164),
    ("RH1b", "1006", "road", 210, 214, 164, 404),
    ("RH1c", "1006", "road", 210, 214, 404, 640),
    ("RH2a", "1006", "road", 426, 430, 0, 164),
    ("RH2b", "1006", "road", 426, 430, 164, 404),
    ("RH2c", "1006", "road", 426, 430, 404, 640),
]

SCENARIO_TEXT = {
    "fallow": "bare loess soil in both epochs (fallow)",
    "spring_greenup": "bare soil in April, green crop in September (green-up)",
    "wheat_maize": "winter wheat in April, summer maize in September (crop change)",
    "ripening": "green in April (NDVI ~0.75), ripening in September (NDVI ~0.45)",
    "vegetable": "vegetable beds, green in both epochs",
    "paddy": "puddled wet soil in April, rice in September",
    "grass": "sparse grass, greener in September",
    "orchard": "tree rows, leafing in April, full canopy in September",
    "pond": "open water in both epochs",
    "village": "existing homesteads: roofs, courtyards, lanes, trees (unchanged)",
    "road": "gravel field road (unchanged)",
}

# Township polygons in pixel-corner coordinates (col, row); they extend beyond the scene.
# The 稷峰镇/化峪镇 boundary is the vertical x = 497350 from the north down to row 260 (object
# C05 straddles it); the others have slanted segments away from all objects. The triangle
# beyond (700,520)-(520,700) belongs to no township (neighbouring county): 1800 m² of the
# scene's south-east corner, with no construction in it.
TOWNSHIPS = [
    ("稷峰镇", "140824100", [(-300, -300), (350, -300), (350, 260), (400, 340), (400, 470),
                           (330, 470), (240, 428), (-300, 428)]),
    ("化峪镇", "140824101", [(350, -300), (700, -300), (700, 470), (400, 470), (400, 340),
                           (350, 260)]),
    ("西社镇", "140824104", [(-300, 428), (240, 428), (330, 470), (400, 470), (700, 470),
                           (700, 520), (520, 700), (-300, 700)]),
]
# Villages (村级调查区 CJDCQ, fields ZLDWMC/ZLDWDM): each township is one village, except 稷峰镇,
# split at x = 497200 (column 200) into 西关村 (west) and 东关村 (east). DLTB patches are split at
# village boundaries and carry the village's 12-digit ZLDWDM.
VILLAGE_SPLIT_COL = 200
VILLAGES = [
    # (name, ZLDWDM, township code, column range [c0, c1) the village takes of its township)
    ("西关村", "140824100201", "140824100", (-300, VILLAGE_SPLIT_COL)),
    ("东关村", "140824100202", "140824100", (VILLAGE_SPLIT_COL, 700)),
    ("化峪村", "140824101203", "140824101", (-300, 700)),
    ("西社村", "140824104205", "140824104", (-300, 700)),
]

# New construction, after epoch only: (id, kind, style, rects [(row0,row1,col0,col1)], note)
OBJECTS = [
    ("C01", "roof", "roof_grey", [(140, 170, 60, 100)],
     "factory roof on a wheat/maize field (0103)"),
    ("C02", "roof", "roof_grey", [(40, 60, 220, 250)],
     "house on a spring field that is bare soil in QSX (0103)"),
    ("C03", "hardened", "concrete", [(560, 580, 240, 300), (580, 600, 240, 260)],
     "L-shaped concrete yard on a wheat/maize field (0103)"),
    ("C04", "roof", "roof_grey", [(305, 325, 300, 345), (325, 350, 300, 320)],
     "L-shaped roof over the 2x2 tile corner x=497320 y=3940680 (all 4 tiles; 0102)"),
    ("C05", "hardened", "concrete", [(120, 150, 330, 380)],
     "straddles the 稷峰镇/化峪镇 boundary x=497350 (ripening field 0103)"),
    ("C06", "hardened", "concrete", [(360, 380, 500, 540)],
     "half on grass 0404 and half on a wheat/maize field 0103 (edge x=497520)"),
    ("C07", "roof", "roof_blue", [(380, 392, 200, 210)],
     "10x12 m blue steel shed below the 200 m² MMU (0103): must not be reported"),
    ("C08", "earthworks", "earth", [(230, 270, 430, 490)],
     "levelled bright earth on grass 0404; crosses processing row 256"),
    ("C09", "roof", "roof_grey", [(250, 275, 560, 585)],
     "house in the orchard (0201)"),
    ("C10", "roof", "roof_blue", [(440, 455, 430, 445)],
     "15x15 m blue steel shed just above the MMU; 15 m north of the 化峪镇/西社镇 boundary (0102)"),
    ("C11", "hardened", "concrete", [(300, 320, 420, 470), (320, 345, 420, 440)],
     "L-shaped yard on grass 0404"),
    ("C12", "roof", "roof_blue", [(470, 500, 190, 230)],
     "blue steel shed on a vegetable field (0102)"),
    ("C13", "hardened", "concrete", [(250, 280, 50, 90)],
     "drying yard on paddy 0101; crosses processing row 256"),
    ("C14", "hardened", "concrete", [(590, 620, 430, 470)],
     "storage yard on grass 0404"),
    ("C15", "greenhouse", "greenhouse", [(585, 625, 40, 100)],
     "plastic greenhouse (8 m bays and 2 m paths) on a vegetable field (0102) under a 设施农用地 filing"),
]
# Objects drawn after the sensor noise (added later): their random gains come after it, so the
# earlier objects and the noise keep their values.
N_FIRST_OBJECTS = 14

# ---- enforcement layers (issue 9), pixel rectangles (row0, row1, col0, col1) ----------------
# 永久基本农田 (YJJBNTTB), EPSG:4546: the north-west paddy and wheat fields (objects C01, C13).
YJJBNT = [("140824YJ0001", (100, 320, 10, 160))]
# 生态保护红线, EPSG:4490: a 20 m strip along a gully; 420 m² of object C14 lies in it.
REDLINE = [("HX140824001", "汾河稷山段生态保护红线", (530, 640, 456, 476))]
# Approval layers in approvals.gpkg (EPSG:4546): 批准用地 (layer pzyd, PZWH) covering C03 fully
# and 60 % of C09; a 设施农用地 filing (layer ssnyd, STRKH) over the greenhouse C15.
APPROVALS_PZYD = [("晋政地〔2023〕15号", "稷山县2023年第3批次城镇建设用地", (555, 605, 235, 305)),
                  ("稷政地〔2022〕8号", "化峪镇农村公益设施用地", (245, 280, 555, 575))]
FILINGS_SSNYD = [("1408242023000012", "西社村蔬菜大棚", (580, 630, 35, 105))]
# Delivered leads (线索), EPSG:4490 polygons: one over C01 (found), one over the sub-MMU shed C07
# (missed: weipian does not report parcels under 200 m²), one split into sub-parcels _1 over C08
# and _2 over C11 (matched per sub-parcel).
LEAD_BATCH, LEAD_DELIVERED = "2023年三季度", "2023-10-20"
LEADS = [
    ("140824SJBG23300001", (138, 172, 58, 102), "140824SJBG22300017"),
    ("140824SJBG23300002", (378, 394, 198, 212), ""),
    ("140824SJBG23300003_1", (228, 272, 428, 492), ""),
    ("140824SJBG23300003_2", (298, 347, 418, 472), ""),
]


# --------------------------------------------------------------------------------------------
# Raster synthesis
# --------------------------------------------------------------------------------------------
def smooth(rng, cell, std, shape=(SIZE, SIZE)):
    """Smooth random field: Gaussian values on a coarse grid of `cell` px, smoothstep-interpolated,
    normalised to zero mean and standard deviation `std`."""
    h, w = shape
    g = rng.standard_normal((h // cell + 3, w // cell + 3))

    def axis(n):
        t = (np.arange(n) + 0.5) / cell
        i = np.floor(t).astype(np.int64)
        f = t - i
        return i, f * f * (3.0 - 2.0 * f)

    iy, fy = axis(h)
    ix, fx = axis(w)
    fy, fx = fy[:, None], fx[None, :]
    out = ((g[np.ix_(iy, ix)] * (1 - fx) + g[np.ix_(iy, ix + 1)] * fx) * (1 - fy)
           + (g[np.ix_(iy + 1, ix)] * (1 - fx) + g[np.ix_(iy + 1, ix + 1)] * fx) * fy)
    out = (out - out.mean()) / out.std()
    return out * std


def mix(a, b, f):
    """Linear mixture f*a + (1-f)*b of two spectra; f is an array (h, w) -> (4, h, w)."""
    f = np.asarray(f, dtype=np.float64)
    return a[:, None, None] * f[None] + b[:, None, None] * (1.0 - f[None])


def const(spec, shape):
    return np.broadcast_to(spec[:, None, None], (4,) + shape).copy()


class Scene:
    """Land-cover layout, random textures and the two epochs' surface spectra."""

    def __init__(self):
        rng = np.random.default_rng(SEED)
        self.rng = rng
        # -- textures (drawn in a fixed order) --
        self.soil_tex = 1.0 + smooth(rng, 25, 0.035) + smooth(rng, 5, 0.015)  # stable surfaces
        self.vig = {"q": smooth(rng, 40, 1.0), "h": smooth(rng, 40, 1.0)}  # crop vigour per epoch
        self.fine = {"q": smooth(rng, 2, 1.0), "h": smooth(rng, 2, 1.0)}   # fine canopy texture
        self.grass_tex = smooth(rng, 10, 1.0)                             # stable grass patchiness
        self.grass_ep = {"q": smooth(rng, 4, 1.0), "h": smooth(rng, 4, 1.0)}
        self.water_tex = smooth(rng, 15, 1.0)
        self.roof_tex = smooth(rng, 3, 1.0)
        self.earth_tex = smooth(rng, 6, 1.0)
        # -- land patch raster (1-based index into PATCHES) --
        self.patch = np.zeros((SIZE, SIZE), np.int32)
        for i, (_, _, _, r0, r1, c0, c1) in enumerate(PATCHES):
            self.patch[r0:r1, c0:c1] = i + 1
        assert (self.patch > 0).all(), "patches must tile the scene"
        # -- village and orchard layouts (stable between epochs) --
        self._make_village()
        self._make_orchard()
        # -- objects --
        self.obj_id = np.zeros((SIZE, SIZE), np.int16)  # 1-based index into OBJECTS
        for i, (_, _, _, rects, _) in enumerate(OBJECTS):
            for r0, r1, c0, c1 in rects:
                assert (self.obj_id[r0:r1, c0:c1] == 0).all(), "objects overlap"
                self.obj_id[r0:r1, c0:c1] = i + 1
        self.obj_gain = rng.uniform(0.95, 1.05, N_FIRST_OBJECTS)
        # -- sensor noise --
        self.noise = {"q": rng.standard_normal((4, SIZE, SIZE)),
                      "h": rng.standard_normal((4, SIZE, SIZE))}
        self.obj_gain = np.concatenate([self.obj_gain,
                                        rng.uniform(0.95, 1.05, len(OBJECTS) - N_FIRST_OBJECTS)])

    # ---- layouts ---------------------------------------------------------------------------
    def _make_village(self):
        rng = self.rng
        key = [p for p in PATCHES if p[0] == "VIL"][0]
        r0, r1, c0, c1 = key[3:]
        h, w = r1 - r0, c1 - c0
        kinds = ["lane", "yard", "yardsoil", "roof_grey", "roof_red", "roof_dark", "roof_blue",
                 "garden"]
        cls = np.zeros((h, w), np.int8)          # index into kinds; 0 = lane
        factor = np.ones((h, w))                 # per-roof brightness factor
        tree = np.zeros((h, w), bool)
        yy, xx = np.mgrid[0:h, 0:w]
        for ry in range(2, h - 24 + 1, 28):      # rows of compounds, 24 m deep, 4 m lanes
            for cx in (2, 23, 44, 65, 107, 128, 149, 170):   # 20 m wide, main street in between
                u = rng.random()
                if u < 0.08:                     # vegetable garden plot
                    cls[ry:ry + 24, cx:cx + 20] = kinds.index("garden")
                    continue
                base = "yard" if rng.random() < 0.6 else "yardsoil"
                cls[ry:ry + 24, cx:cx + 20] = kinds.index(base)
                depth = int(rng.integers(7, 10))
                roof = rng.choice(["roof_grey", "roof_red", "roof_dark", "roof_blue"],
                                  p=[0.35, 0.35, 0.2, 0.1])
                cls[ry:ry + depth, cx:cx + 20] = kinds.index(str(roof))
                factor[ry:ry + depth, cx:cx + 20] = rng.uniform(0.93, 1.07)
                if rng.random() < 0.5:           # east wing
                    wing = int(rng.integers(6, 10))
                    roof2 = rng.choice(["roof_grey", "roof_red", "roof_dark"])
                    cls[ry + depth:ry + depth + wing, cx + 15:cx + 20] = kinds.index(str(roof2))
                    factor[ry + depth:ry + depth + wing, cx + 15:cx + 20] = rng.uniform(0.93, 1.07)
                if rng.random() < 0.45:          # a courtyard tree
                    ty = ry + depth + 3 + rng.random() * (24 - depth - 6)
                    tx = cx + 3 + rng.random() * 10
                    rad = rng.uniform(1.8, 3.0)
                    crown = (yy + 0.5 - ty) ** 2 + (xx + 0.5 - tx) ** 2 <= rad * rad
                    crown &= (yy >= ry) & (yy < ry + 24) & (xx >= cx) & (xx < cx + 20)
                    tree |= crown & (cls == kinds.index(base))
        self.village = dict(window=(r0, r1, c0, c1), kinds=kinds, cls=cls, factor=factor, tree=tree)

    def _make_orchard(self):
        key = [p for p in PATCHES if p[0] == "M5"][0]
        r0, r1, c0, c1 = key[3:]
        yy, xx = np.mgrid[0:r1 - r0, 0:c1 - c0]
        py = (yy + 0.5) % 3.0 - 1.5              # trees every 3 m along N-S rows
        px = (xx + 0.5) % 4.0 - 2.0              # rows every 4 m
        self.orchard = dict(window=(r0, r1, c0, c1), crown=py * py + px * px <= 1.45 ** 2)

    # ---- rendering -------------------------------------------------------------------------
    def crop(self, ep, sl, base, amp=0.05, lo=0.6, hi=0.96, canopy="veg"):
        f = np.clip(base + amp * self.vig[ep][sl] + 0.03 * self.fine[ep][sl], lo, hi)
        return mix(E[canopy], E["soil"], f)

    def render_patch(self, ep, scen, sl):
        shp = self.patch[sl].shape
        soil = const(E["soil"], shp) * self.soil_tex[sl]
        if scen == "fallow":
            return soil
        if scen == "spring_greenup":
            if ep == "q":   # freshly prepared, slightly darker soil with faint furrows
                cols = np.arange(sl[1].start, sl[1].stop)
                furrow = 1.0 + 0.02 * np.where(cols % 3 == 0, -1.0, 0.5)
                return soil * 0.97 * furrow[None, None, :]
            return self.crop(ep, sl, 0.80, lo=0.6)
        if scen == "wheat_maize":
            if ep == "q":
                return self.crop(ep, sl, 0.86)
            return self.crop(ep, sl, 0.80, amp=0.06, canopy="maize")
        if scen == "ripening":
            if ep == "q":
                return self.crop(ep, sl, 0.84)
            g = np.clip(0.10 + 0.04 * self.vig[ep][sl], 0.02, 0.18)
            s = np.clip(0.20 + 0.04 * self.fine[ep][sl], 0.12, 0.28)
            return (E["veg"][:, None, None] * g + E["soil"][:, None, None] * s
                    + E["sen"][:, None, None] * (1.0 - g - s))
        if scen == "vegetable":
            out = self.crop(ep, sl, 0.62 if ep == "q" else 0.74, amp=0.06, lo=0.5)
            rows = np.arange(sl[0].start, sl[0].stop)
            path = (rows % 5 == 0)[:, None] & np.ones(shp, bool)   # 1 m soil paths between beds
            out[:, path] = soil[:, path]
            return out
        if scen == "paddy":
            if ep == "q":
                w = np.clip(0.3 + 0.15 * self.vig[ep][sl], 0.0, 0.7)
                return mix(E["water"], E["wetsoil"], w)
            f = np.clip(0.86 + 0.04 * self.vig[ep][sl] + 0.03 * self.fine[ep][sl], 0.7, 0.96)
            return mix(E["veg"], E["water"], f)
        if scen == "grass":
            return self.grass(ep, sl)
        if scen == "orchard":
            r0, r1, c0, c1 = self.orchard["window"]
            crown = self.orchard["crown"][sl[0].start - r0:sl[0].stop - r0,
                                          sl[1].start - c0:sl[1].stop - c0]
            out = self.grass(ep, sl)
            canopy = self.crop(ep, sl, 0.55 if ep == "q" else 0.88, lo=0.4)
            out[:, crown] = canopy[:, crown]
            return out
        if scen == "pond":
            out = self.grass(ep, sl)
            wt = const(E["water"], shp) * (1.0 + 0.03 * self.water_tex[sl])
            out[:, 3:-3, 3:-3] = wt[:, 3:-3, 3:-3]     # 3 m grassy banks
            return out
        if scen == "road":
            return const(E["road"], shp) * self.soil_tex[sl]
        if scen == "village":
            return self.render_village(ep, sl)
        raise ValueError(scen)

    def grass(self, ep, sl):
        if ep == "q":
            f = np.clip(0.42 + 0.07 * self.grass_tex[sl] + 0.03 * self.grass_ep[ep][sl], 0.28, 0.56)
        else:
            f = np.clip(0.55 + 0.07 * self.grass_tex[sl] + 0.03 * self.grass_ep[ep][sl], 0.40, 0.70)
        return mix(E["veg"], E["soil"], f)

    def render_village(self, ep, sl):
        v = self.village
        kinds, cls = v["kinds"], v["cls"]
        shp = cls.shape
        out = np.zeros((4,) + shp)
        for k, name in enumerate(kinds):
            m = cls == k
            if not m.any():
                continue
            if name == "garden":
                spec = self.crop(ep, sl, 0.35 if ep == "q" else 0.75, lo=0.25)
            elif name.startswith("roof"):
                spec = const(E[name], shp) * v["factor"] * (1.0 + 0.015 * self.roof_tex[sl])
            else:
                spec = const(E[name], shp) * self.soil_tex[sl]
            out[:, m] = spec[:, m]
        t = v["tree"]
        canopy = const(E["veg"], shp)  # pure canopy spectrum
        f = 0.45 if ep == "q" else 0.9
        out[:, t] = f * canopy[:, t] + (1.0 - f) * out[:, t]
        return out

    def render_object(self, i, sl, shp):
        _, kind, style, rects, _ = OBJECTS[i]
        g = self.obj_gain[i]
        spec = const(E[style], shp) * g
        rows = np.arange(sl[0].start, sl[0].stop)[:, None]
        cols = np.arange(sl[1].start, sl[1].stop)[None, :]
        if style == "roof_grey":
            spec *= 1.0 + 0.015 * self.roof_tex[sl]
        elif style == "roof_blue":      # corrugated sheet
            spec *= 1.0 + 0.03 * np.where(cols % 2 == 0, 1.0, -1.0) + 0.01 * self.roof_tex[sl]
        elif style == "concrete":       # slabs with darker joints every 6 m
            joint = ((rows % 6 == 0) | (cols % 6 == 0))
            spec *= (1.0 + 0.02 * self.earth_tex[sl]) * np.where(joint, 0.94, 1.0)
        elif style == "earth":          # levelled earth with machinery tracks
            track = (cols % 7 == 3)
            spec *= (1.0 + 0.04 * self.earth_tex[sl]) * np.where(track, 0.95, 1.0)
        elif style == "greenhouse":     # film bays 8 m wide, 2 m soil paths (period 10 m)
            c0 = rects[0][2]
            path = ((cols - c0) % 10 >= 8)
            soil = const(E["baysoil"], shp) * g
            spec = np.where(path[None, :, :], soil, spec) * (1.0 + 0.01 * self.roof_tex[sl])
        return spec

    def surface(self, ep):
        """Surface reflectance x 10000 (4, SIZE, SIZE) of epoch 'q' (before) or 'h' (after)."""
        out = np.zeros((4, SIZE, SIZE))
        for key, dlbm, scen, r0, r1, c0, c1 in PATCHES:
            sl = (slice(r0, r1), slice(c0, c1))
            out[:, r0:r1, c0:c1] = self.render_patch(ep, scen, sl)
        if ep == "h":
            full = (slice(0, SIZE), slice(0, SIZE))
            for i in range(len(OBJECTS)):
                m = self.obj_id == i + 1
                spec = self.render_object(i, full, (SIZE, SIZE))
                out[:, m] = spec[:, m]
        return out

    def epoch_dn(self, ep):
        """Sensor DN (uint16) of an epoch: calibration gain/offset, noise, nodata strip."""
        s = self.surface(ep)
        if ep == "h":
            s = GAIN * s + OFFSET
        sigma = 0.015 * s + 6.0                  # ~2-3 % of the signal
        dn = np.rint(s + sigma * self.noise[ep])
        dn = np.clip(dn, 1, 65535).astype(np.uint16)   # 0 is reserved for nodata
        if ep == "q":
            dn[:, :, :NODATA_COLS] = 0
        return dn


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
def grid_srs():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG_GRID)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def geo_srs():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG_GEO)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def px_to_xy(col, row):
    return X0 + col, Y0 - row


TIFF_OPTIONS = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
                "PREDICTOR=2", "ZLEVEL=9", "INTERLEAVE=BAND", "PHOTOMETRIC=MINISBLACK"]


def tile_name(prefix, date, r, c):
    return f"{prefix}_{date.replace('-', '')}_r{r}c{c}.tif"


def write_tiles(out, folder, prefix, date, dn, acq_time):
    d = out / folder
    d.mkdir(parents=True, exist_ok=True)
    drv = gdal.GetDriverByName("GTiff")
    names = []
    for r in range(SIZE // TILE):
        for c in range(SIZE // TILE):
            path = d / tile_name(prefix, date, r, c)
            if path.exists():
                path.unlink()
            ds = drv.Create(str(path), TILE, TILE, 4, gdal.GDT_UInt16, TIFF_OPTIONS)
            x, y = px_to_xy(c * TILE, r * TILE)
            ds.SetGeoTransform((x, 1.0, 0.0, y, 0.0, -1.0))
            ds.SetSpatialRef(grid_srs())
            ds.SetMetadata({
                "TIFFTAG_DATETIME": date.replace("-", ":") + " " + acq_time,
                "TIFFTAG_IMAGEDESCRIPTION":
                    f"weipian synthetic sample, {prefix} epoch, tile r{r}c{c}, GF-2-like 4-band "
                    "surface reflectance x 10000",
                "EPOCH": prefix, "ACQUISITION_DATE": date, "SENSOR": "GF-2-like (synthetic)",
                "COUNTY": f"{COUNTY_NAME} {COUNTY_CODE}",
            })
            block = dn[:, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
            for b, desc in enumerate(("blue", "green", "red", "nir")):
                band = ds.GetRasterBand(b + 1)
                band.SetDescription(desc)
                band.SetNoDataValue(0)
                band.WriteArray(block[b])
            ds = None
            names.append(path)
    return names


def ring_geometry(points_xy):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    pts = list(points_xy)
    # counter-clockwise exterior (map coordinates)
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]))
    if area2 < 0:
        pts = pts[::-1]
    for x, y in pts + pts[:1]:
        ring.AddPoint_2D(float(x), float(y))
    return ring


def township_polygons_grid():
    """Township polygons in EPSG:4546 (traditional order), exact vertex coordinates."""
    out = []
    for name, code, pts in TOWNSHIPS:
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring_geometry([px_to_xy(c, r) for c, r in pts]))
        out.append((name, code, poly))
    return out


def rect_polygon(rect):
    """A pixel rectangle (row0, row1, col0, col1) as an EPSG:4546 polygon."""
    r0, r1, c0, c1 = rect
    (xa, ya), (xb, yb) = px_to_xy(c0, r0), px_to_xy(c1, r1)
    p = ogr.Geometry(ogr.wkbPolygon)
    p.AddGeometry(ring_geometry([(xa, yb), (xb, yb), (xb, ya), (xa, ya)]))
    return p


def village_polygons_grid():
    """Village polygons in EPSG:4546: (name, ZLDWDM, township code, polygon)."""
    towns = {code: poly for _, code, poly in township_polygons_grid()}
    out = []
    for name, code, town, (c0, c1) in VILLAGES:
        poly = towns[town].Intersection(rect_polygon((-300, 700, c0, c1)))
        out.append((name, code, town, poly))
    return out


def new_gpkg(path):
    if path.exists():
        path.unlink()
    return ogr.GetDriverByName("GPKG").CreateDataSource(str(path))


def write_townships(out):
    ds = new_gpkg(out / "townships.gpkg")
    lyr = ds.CreateLayer("townships", geo_srs(), ogr.wkbMultiPolygon,
                         ["FID=fid", "GEOMETRY_NAME=geom", "IDENTIFIER=townships",
                          "DESCRIPTION=weipian sample townships (乡镇), CGCS2000 lon/lat"])
    f = ogr.FieldDefn(TOWNSHIP_FIELD_NAME, ogr.OFTString)
    f.SetWidth(50)
    lyr.CreateField(f)
    f = ogr.FieldDefn(TOWNSHIP_FIELD_CODE, ogr.OFTString)
    f.SetWidth(9)
    lyr.CreateField(f)
    ct = osr.CoordinateTransformation(grid_srs(), geo_srs())
    lyr.StartTransaction()
    for name, code, poly in township_polygons_grid():
        g = poly.Clone()
        g.Transform(ct)                      # -> x = lon, y = lat
        mp = ogr.Geometry(ogr.wkbMultiPolygon)
        mp.AddGeometry(g)
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetField(TOWNSHIP_FIELD_NAME, name)
        feat.SetField(TOWNSHIP_FIELD_CODE, code)
        feat.SetGeometry(mp)
        lyr.CreateFeature(feat)
    lyr.CommitTransaction()
    ds = None


def polygons_of(geom):
    """Polygon parts of a geometry (Polygon, MultiPolygon or GeometryCollection)."""
    t = ogr.GT_Flatten(geom.GetGeometryType())
    if t == ogr.wkbPolygon:
        return [geom.Clone()] if geom.GetArea() > 0 else []
    if t in (ogr.wkbMultiPolygon, ogr.wkbGeometryCollection):
        out = []
        for i in range(geom.GetGeometryCount()):
            out.extend(polygons_of(geom.GetGeometryRef(i)))
        return out
    return []


def write_dltb(out, scene):
    """Polygonizes the land-patch raster (4-connected, pixel-exact), splits the patches at the
    township boundaries (三调 patches carry one ZLDWDM) and drops the part outside the county."""
    mem = gdal.GetDriverByName("MEM").Create("", SIZE, SIZE, 1, gdal.GDT_Int32)
    mem.SetGeoTransform((X0, 1.0, 0.0, Y0, 0.0, -1.0))
    mem.SetSpatialRef(grid_srs())
    mem.GetRasterBand(1).WriteArray(scene.patch)
    vds = ogr.GetDriverByName("Memory").CreateDataSource("")
    vl = vds.CreateLayer("p", grid_srs(), ogr.wkbPolygon)
    vl.CreateField(ogr.FieldDefn("pid", ogr.OFTInteger))
    gdal.Polygonize(mem.GetRasterBand(1), None, vl, 0, [])
    pieces = []
    for feat in vl:
        pid = feat.GetField("pid")
        geom = feat.GetGeometryRef()
        for name, code, town, vpoly in village_polygons_grid():
            inter = geom.Intersection(vpoly)
            for part in polygons_of(inter):
                pieces.append((pid, code, part))
    # stable order: north to south, west to east by the part's envelope, then patch id
    def key(p):
        env = p[2].GetEnvelope()  # minx, maxx, miny, maxy
        return (-round(env[3], 6), round(env[0], 6), p[0], p[1])
    pieces.sort(key=key)

    ds = new_gpkg(out / "dltb.gpkg")
    lyr = ds.CreateLayer("dltb", grid_srs(), ogr.wkbPolygon,
                         ["FID=fid", "GEOMETRY_NAME=geom", "IDENTIFIER=dltb",
                          "DESCRIPTION=weipian sample land-use patches (三调-like DLTB)"])
    for fname, ftype, width in (("BSM", ogr.OFTString, 18), ("TBBH", ogr.OFTString, 8),
                                ("DLBM", ogr.OFTString, 5), ("DLMC", ogr.OFTString, 60),
                                ("ZLDWDM", ogr.OFTString, 19), ("TBMJ", ogr.OFTReal, 0),
                                ("TBDLMJ", ogr.OFTReal, 0)):
        f = ogr.FieldDefn(fname, ftype)
        if width:
            f.SetWidth(width)
        if ftype == ogr.OFTReal:
            f.SetPrecision(2)
        lyr.CreateField(f)
    lyr.StartTransaction()
    for n, (pid, code, geom) in enumerate(pieces, start=1):
        dlbm = PATCHES[pid - 1][1]
        area = geom.GetArea()
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetField("BSM", f"{COUNTY_CODE}{n:08d}")
        feat.SetField("TBBH", f"{n:04d}")
        feat.SetField("DLBM", dlbm)
        feat.SetField("DLMC", DLMC[dlbm])
        feat.SetField("ZLDWDM", code)
        feat.SetField("TBMJ", round(area, 2))
        feat.SetField("TBDLMJ", round(area, 2))
        feat.SetGeometry(geom)
        lyr.CreateFeature(feat)
    lyr.CommitTransaction()
    ds = None
    return len(pieces)


def write_polygon_layer(ds, name, srs, fields, features, description):
    """A layer of (values..., polygon in EPSG:4546) features, transformed to `srs`.
    fields: [(name, width)] text fields."""
    lyr = ds.CreateLayer(name, srs, ogr.wkbMultiPolygon,
                         ["FID=fid", "GEOMETRY_NAME=geom", f"IDENTIFIER={name}",
                          f"DESCRIPTION={description}"])
    for fname, width in fields:
        f = ogr.FieldDefn(fname, ogr.OFTReal if width == 0 else ogr.OFTString)
        if width:
            f.SetWidth(width)
        else:
            f.SetPrecision(2)
        lyr.CreateField(f)
    ct = None
    if srs.GetAuthorityCode(None) != str(EPSG_GRID):
        ct = osr.CoordinateTransformation(grid_srs(), srs)
    lyr.StartTransaction()
    for values, poly in features:
        g = poly.Clone()
        if ct is not None:
            g.Transform(ct)
        mp = ogr.Geometry(ogr.wkbMultiPolygon)
        for part in polygons_of(g):
            mp.AddGeometry(part)
        feat = ogr.Feature(lyr.GetLayerDefn())
        for (fname, _), v in zip(fields, values):
            if v != "":
                feat.SetField(fname, v)
        feat.SetGeometry(mp)
        lyr.CreateFeature(feat)
    lyr.CommitTransaction()


def write_enforcement_layers(out):
    """永农, 红线, villages, approvals and the delivered leads (issue 9)."""
    ds = new_gpkg(out / "villages.gpkg")
    write_polygon_layer(ds, "cjdcq", geo_srs(), [("ZLDWMC", 50), ("ZLDWDM", 19)],
                        [((n, c), poly) for n, c, _, poly in village_polygons_grid()],
                        "weipian sample villages (村级调查区), CGCS2000 lon/lat")
    ds = None
    ds = new_gpkg(out / "yjjbnt.gpkg")
    write_polygon_layer(ds, "yjjbnttb", grid_srs(), [("BSM", 18)],
                        [((bsm,), rect_polygon(r)) for bsm, r in YJJBNT],
                        "weipian sample permanent basic farmland (永久基本农田)")
    ds = None
    ds = new_gpkg(out / "sthx.gpkg")
    write_polygon_layer(ds, "sthx", geo_srs(), [("HXBH", 20), ("HXMC", 60)],
                        [((code, name), rect_polygon(r)) for code, name, r in REDLINE],
                        "weipian sample ecological protection red line (生态保护红线), CGCS2000 lon/lat")
    ds = None
    ds = new_gpkg(out / "approvals.gpkg")
    write_polygon_layer(ds, "pzyd", grid_srs(), [("PZWH", 40), ("XMMC", 80)],
                        [((no, name), rect_polygon(r)) for no, name, r in APPROVALS_PZYD],
                        "weipian sample approved land use (批准用地/农转用)")
    write_polygon_layer(ds, "ssnyd", grid_srs(), [("STRKH", 20), ("XMMC", 80)],
                        [((no, name), rect_polygon(r)) for no, name, r in FILINGS_SSNYD],
                        "weipian sample facility-agriculture filings (设施农用地备案)")
    ds = None
    rows = [((lid, LEAD_BATCH, LEAD_DELIVERED, QSX_DATE, HSX_DATE,
              to_centimu(rect_polygon(r).GetArea()) / 100.0, earlier), rect_polygon(r))
            for lid, r, earlier in LEADS]
    ds = new_gpkg(out / "leads.gpkg")
    write_polygon_layer(ds, "leads", geo_srs(),
                        [("线索编号", 30), ("批次", 30), ("下发日期", 10), ("前时相", 10),
                         ("后时相", 10), ("监测面积", 0), ("往期图斑编号", 30)],
                        rows, "weipian sample delivered leads (下发线索)")
    ds = None
    # The same batch as the platform's Shapefile: GBK text, pinyin field names (DBF names are
    # at most 10 bytes), a fixed DBF date.
    for ext in ("shp", "shx", "dbf", "prj", "cpg"):
        (out / f"leads_gbk.{ext}").unlink(missing_ok=True)
    ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(out / "leads_gbk.shp"))
    lyr = ds.CreateLayer("leads_gbk", geo_srs(), ogr.wkbPolygon,
                         ["ENCODING=CP936", f"DBF_DATE_LAST_UPDATE={LEAD_DELIVERED}"])
    names = ["XSBH", "PCMC", "XFRQ", "QSX", "HSX", "JCMJ", "WQTBBH"]
    for fname in names:
        f = ogr.FieldDefn(fname, ogr.OFTReal if fname == "JCMJ" else ogr.OFTString)
        if fname == "JCMJ":
            f.SetWidth(12)
            f.SetPrecision(2)
        else:
            f.SetWidth(30)
        lyr.CreateField(f)
    ct = osr.CoordinateTransformation(grid_srs(), geo_srs())
    for values, poly in rows:
        g = poly.Clone()
        g.Transform(ct)
        feat = ogr.Feature(lyr.GetLayerDefn())
        for fname, v in zip(names, values):
            if v != "":
                feat.SetField(fname, v)
        feat.SetGeometry(g)
        lyr.CreateFeature(feat)
    ds = None


# --------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------
def object_polygon(rects):
    """Union of pixel rectangles as an EPSG:4546 polygon (exact integer coordinates)."""
    geom = None
    for r0, r1, c0, c1 in rects:
        (xa, ya), (xb, yb) = px_to_xy(c0, r0), px_to_xy(c1, r1)
        ring = ring_geometry([(xa, yb), (xb, yb), (xb, ya), (xa, ya)])
        p = ogr.Geometry(ogr.wkbPolygon)
        p.AddGeometry(ring)
        geom = p if geom is None else geom.Union(p)
    return geom


def exact_m2(area):
    """An area that the layers make a whole number of m² (checked), as an int."""
    assert abs(area - round(area)) < 1e-6, area
    return int(round(area))


def truth_rows(scene):
    """Truth from the geometry definitions alone: township parts from the exact township
    polygons, cultivated area from the patch raster (patches follow pixel edges)."""
    rows = []
    towns = township_polygons_grid()
    for i, (oid, kind, style, rects, note) in enumerate(OBJECTS):
        m = scene.obj_id == i + 1
        npx = int(m.sum())
        geom = object_polygon(rects)
        assert abs(geom.GetArea() - npx) < 1e-9
        parts = []
        for name, code, tpoly in towns:
            inter = geom.Intersection(tpoly)
            a = inter.GetArea() if inter is not None else 0.0
            if a > 1e-6:
                parts.append((name, code, inter))
        assert abs(sum(p[2].GetArea() for p in parts) - npx) < 1e-6, oid
        # pixel-level split of each part (parts must follow pixel edges: check it)
        for name, code, inter in parts:
            area = inter.GetArea()
            assert abs(area - round(area)) < 1e-6, (oid, name, area)
            env = inter.GetEnvelope()
            c0, c1 = int(round(env[0] - X0)), int(round(env[1] - X0))
            r0, r1 = int(round(Y0 - env[3])), int(round(Y0 - env[2]))
            pm = np.zeros_like(m)
            pm[r0:r1, c0:c1] = True
            pm &= m
            # a part may not fill its envelope (L-shapes): keep pixels whose centre is inside
            if pm.sum() != round(area):
                ys, xs = np.nonzero(pm)
                keep = np.array([inter.Contains(ogr.CreateGeometryFromWkt(
                    f"POINT ({X0 + x + 0.5} {Y0 - y - 0.5})")) for y, x in zip(ys, xs)])
                pm[:] = False
                pm[ys[keep], xs[keep]] = True
            assert pm.sum() == round(area), (oid, name)
            classes = scene.patch[pm]
            land = {}
            for pid in np.unique(classes):
                dl = PATCHES[pid - 1][1]
                land[dl] = land.get(dl, 0) + int((classes == pid).sum())
            cult = sum(v for k, v in land.items() if k in CULTIVATED)
            group = {g: sum(v for k, v in land.items() if LAND_GROUP[k] == g)
                     for g in ("other_agricultural", "unused", "construction")}
            villages = [(inter.Intersection(vp).GetArea(), vn, vc)
                        for vn, vc, _, vp in village_polygons_grid()]
            _, village_name, village_code = max(villages)
            yj = sum(inter.Intersection(rect_polygon(r)).GetArea() for _, r in YJJBNT)
            hx = sum(inter.Intersection(rect_polygon(r)).GetArea() for _, _, r in REDLINE)

            def cover(features):
                numbers, covered = [], None
                for no, _, r in features:
                    c = inter.Intersection(rect_polygon(r))
                    if c is not None and c.GetArea() > 1e-4:
                        numbers.append(no)
                        covered = c if covered is None else covered.Union(c)
                share = 0.0 if covered is None else covered.GetArea() / area
                return "、".join(sorted(numbers)), round(100.0 * share, 2)
            pzwh, pzwh_share = cover(APPROVALS_PZYD)
            ssnydh, ssnydh_share = cover(FILINGS_SSNYD)
            lead = ""
            for lid, r, _ in LEADS:
                lp = rect_polygon(r)
                c = inter.Intersection(lp)
                if c is not None and c.GetArea() / min(area, lp.GetArea()) >= 0.3:
                    lead = lid
            # ENFORCEMENT.md §3 with weipian's default gates (prejudge.*): 95 % above 2 亩,
            # 90 % up to it, uncovered 耕地 under 0.5 亩.
            gate = 95.0 if to_centimu(area) > 200 else 90.0
            if pzwh_share >= gate and to_centimu(cult * (1 - pzwh_share / 100.0)) < 50:
                expected = "合法·批文"
            elif ssnydh_share >= gate:
                expected = "设施农用地"
            elif pzwh_share > 0 or ssnydh_share > 0:
                expected = "存疑"
            else:
                expected = "非农违法"
            cy, cx = np.nonzero(pm)
            rows.append(dict(
                object_id=oid, kind=kind, township_name=name, township_code=code,
                area_m2=int(round(area)), cultivated_m2=int(cult),
                below_mmu="true" if npx < MMU_M2 else "false",
                notes=note,
                xmin=env[0], ymin=env[2], xmax=env[1], ymax=env[3],
                centroid_x=X0 + cx.mean() + 0.5, centroid_y=Y0 - cy.mean() - 0.5,
                object_area_m2=npx,
                land_before=";".join(f"{k}:{v}" for k, v in sorted(land.items())),
                village_name=village_name, village_code=village_code,
                other_agricultural_m2=group["other_agricultural"], unused_m2=group["unused"],
                construction_m2=group["construction"],
                permanent_farmland_m2=exact_m2(yj), redline_m2=exact_m2(hx),
                pzwh=pzwh, pzwh_share=pzwh_share, ssnydh=ssnydh, ssnydh_share=ssnydh_share,
                lead_id=lead, prejudgement="" if npx < MMU_M2 else expected,
            ))
    return rows


TRUTH_FIELDS = ["object_id", "kind", "township_name", "township_code", "area_m2", "cultivated_m2",
                "below_mmu", "notes", "object_area_m2", "land_before", "xmin", "ymin", "xmax",
                "ymax", "centroid_x", "centroid_y",
                # issue 9: the enforcement overlay and the expected pre-judgement
                "village_name", "village_code", "other_agricultural_m2", "unused_m2",
                "construction_m2", "permanent_farmland_m2", "redline_m2", "pzwh", "pzwh_share",
                "ssnydh", "ssnydh_share", "lead_id", "prejudgement"]


def write_truth(out, rows):
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, TRUTH_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            r = dict(r)
            for k in ("xmin", "ymin", "xmax", "ymax", "centroid_x", "centroid_y"):
                r[k] = f"{r[k]:.3f}"
            w.writerow(r)


def to_centimu(m2):
    """Hundredths of a 亩, rounded half away from zero (as pipeline/core/units.hpp to_centimu)."""
    v = m2 * 15.0 / 100.0          # m2 * 0.0015 * 100, computed without binary 0.0015
    return int(np.floor(v + 0.5)) if v >= 0 else -int(np.floor(-v + 0.5))


def format_mu(centimu):
    s = f"{centimu // 100}.{centimu % 100:02d}".rstrip("0").rstrip(".")
    return s


def summarize(rows):
    """Per-township summary of the reported parcels (one case per township part)."""
    by = {}
    for r in rows:
        if r["below_mmu"] == "true":
            continue
        t = by.setdefault(r["township_code"], dict(name=r["township_name"], code=r["township_code"],
                                                   cases=0, m2=0, cmu=0, ccases=0, cm2=0, ccmu=0))
        t["cases"] += 1
        t["m2"] += r["area_m2"]
        t["cmu"] += to_centimu(r["area_m2"])
        c = to_centimu(r["cultivated_m2"])
        if c > 0:
            t["ccases"] += 1
        t["cm2"] += r["cultivated_m2"]
        t["ccmu"] += c
    ranked = sorted(by.values(), key=lambda t: (-t["ccmu"], -t["cmu"], t["code"], t["name"]))
    total = dict(name="合计", code=COUNTY_CODE, **{k: sum(t[k] for t in ranked)
                                               for k in ("cases", "m2", "cmu", "ccases", "cm2",
                                                         "ccmu")})
    return ranked, total


def land_of(parts):
    """Land classes under a whole object (all its township parts), 'DLBM:m2;...'."""
    land = {}
    for p in parts:
        for item in p["land_before"].split(";"):
            k, v = item.split(":")
            land[k] = land.get(k, 0) + int(v)
    return ";".join(f"{k}:{v}" for k, v in sorted(land.items()))


def write_readme(out, rows, n_dltb):
    ranked, total = summarize(rows)
    objs = {}
    for r in rows:
        objs.setdefault(r["object_id"], []).append(r)
    L = []
    L.append("# weipian sample scene (synthetic)\n")
    L.append("Generated by `scripts/make_sample_tiles.py`; do not edit by hand. Regenerate with\n")
    L.append("```\n/usr/bin/python3 scripts/make_sample_tiles.py sample_tiles --check\n```\n")
    L.append("The output is byte-identical on every run (fixed seed "
             f"{SEED}, fixed GeoPackage timestamps). `--check` re-reads the files and verifies the "
             "claims below; `--check-only` verifies an existing folder.\n")
    L.append("Data only: read by `configs/sample.yaml`, the tests (`tests/pipeline/sample_test.cpp`) and "
             "`scripts/run_sample.sh`; it depends on nothing but its generator.\n")
    L.append("## What it is\n")
    L.append(f"A {SIZE} x {SIZE} m scene in {COUNTY_NAME} ({COUNTY_CODE}), 1 m pixels, EPSG:{EPSG_GRID} "
             f"(CGCS2000 3-degree Gauss-Krüger, CM 111°E, no zone prefix), top-left corner "
             f"x={X0:.0f}, y={Y0:.0f} (about 110.97°E, 35.60°N). Two epochs, each 2 x 2 tiles of "
             f"{TILE} x {TILE} px, 4-band uint16 (band 1 blue, 2 green, 3 red, 4 nir; GF-2-like "
             "surface reflectance x 10000), DEFLATE + PREDICTOR=2, 256 x 256 internal tiles, "
             "nodata = 0.\n")
    L.append("| folder | epoch | date | tiles |\n|---|---|---|---|")
    L.append(f"| `qsx/` | before (前时相, QSX) | {QSX_DATE} | "
             + ", ".join(tile_name("QSX", QSX_DATE, r, c) for r in (0, 1) for c in (0, 1)) + " |")
    L.append(f"| `hsx/` | after (后时相, HSX) | {HSX_DATE} | "
             + ", ".join(tile_name("HSX", HSX_DATE, r, c) for r in (0, 1) for c in (0, 1)) + " |\n")
    L.append("Tile `r{R}c{C}` covers pixel rows 320R..320R+319 and columns 320C..320C+319 of the "
             "scene; both epochs share the same grid exactly.\n")
    L.append("Radiometry: the after epoch is `1.04 x before-like DN + 50` (calibration difference) "
             "and both carry sensor noise of about 2-3 % of the signal (σ = 1.5 % + 6 DN). "
             f"Columns 0-{NODATA_COLS - 1} (x {X0:.0f}-{X0 + NODATA_COLS:.0f}) of the **before** "
             "epoch are nodata (0 in all bands) for the whole height; in the after epoch that strip "
             "holds a bare fallow field, roads, paddy, grass and fields. Treating the 0s as data "
             "would flag the bare part; a correct run flags nothing there.\n")
    L.append("Land cover (each is also a DLTB patch; scenario = what happens between the epochs):\n")
    L.append("| patch | DLBM | rows | cols | scenario |\n|---|---|---|---|---|")
    for key, dlbm, scen, r0, r1, c0, c1 in PATCHES:
        if scen == "road":
            continue
        L.append(f"| {key} | {dlbm} {DLMC[dlbm]} | {r0}-{r1 - 1} | {c0}-{c1 - 1} | "
                 f"{SCENARIO_TEXT[scen]} |")
    L.append("| roads | 1006 农村道路 | 4 m grid at rows 210, 426 and cols 160, 400 | | "
             + SCENARIO_TEXT["road"] + " |\n")
    L.append("Seasonal changes that must **not** be flagged: green-up (soil to crop), crop change "
             "(wheat to maize), ripening (NDVI ~0.75 to ~0.42: these pixels score above 0.15 but "
             "stay above the after-vegetation gate of 0.3), vegetation greening in grass, orchard "
             "and village trees. Unchanged features that must not be flagged: the village "
             "(existing roofs of four kinds, courtyards, lanes), the pond, roads, the fallow field. "
             "No field is harvested to bare soil.\n")
    L.append("## Vector layers\n")
    L.append(f"- `townships.gpkg`, layer `townships`: 3 polygons (MultiPolygon), fields "
             f"`{TOWNSHIP_FIELD_NAME}` (name), `{TOWNSHIP_FIELD_CODE}` (9-digit code), stored in "
             f"**EPSG:{EPSG_GEO}** with x = longitude, y = latitude (GeoPackage order; the EPSG "
             "definition itself declares latitude first, so readers must use the traditional GIS "
             "axis order). Vertices were transformed from exact EPSG:4546 coordinates; the edges "
             "are straight between vertices in EPSG:4546 (do not densify before the overlay). "
             "Codes are illustrative sample codes. The 稷峰镇/化峪镇 boundary is the vertical "
             "x = 497350 in the north half of the scene; the other boundaries have slanted "
             "segments. A 1800 m² triangle in the south-east corner (south-east of the line from "
             "(497640, 3940420) to (497580, 3940360)) lies outside all townships (neighbouring "
             "county) and holds no construction.")
    L.append(f"- `dltb.gpkg`, layer `dltb`: {n_dltb} land-use patches in EPSG:{EPSG_GRID}, fields "
             "BSM, TBBH, DLBM, DLMC, ZLDWDM (12-digit village code, first 9 = township), TBMJ, "
             "TBDLMJ (m², no deduction). They follow the image fields pixel-exactly, are split at "
             "village boundaries, and cover the scene except the corner outside the county. "
             "Cultivated land (耕地) is DLBM 0101, 0102, 0103; in the form's groups 0201, 1006 and "
             "1104 are 非耕农用地, 0404 未利用地, 0702 建设用地.")
    L.append("- `villages.gpkg`, layer `cjdcq`: " + ", ".join(f"{n} ({c})" for n, c, _, _ in VILLAGES)
             + f", fields ZLDWMC, ZLDWDM, EPSG:{EPSG_GEO} lon/lat. Each township is one village "
             f"except 稷峰镇, split at x = {X0 + VILLAGE_SPLIT_COL:.0f} into 西关村 (west) and 东关村 (east).")
    L.append(f"- `yjjbnt.gpkg`, layer `yjjbnttb`: 永久基本农田, EPSG:{EPSG_GRID}, one rectangle over "
             "rows " + ", ".join(f"{r[0]}-{r[1] - 1} cols {r[2]}-{r[3] - 1}" for _, r in YJJBNT)
             + " (objects C01 and C13 lie in it).")
    L.append(f"- `sthx.gpkg`, layer `sthx`: 生态保护红线, EPSG:{EPSG_GEO}, a 20 m strip over "
             + ", ".join(f"rows {r[0]}-{r[1] - 1} cols {r[2]}-{r[3] - 1}" for _, _, r in REDLINE)
             + " (420 m² of C14 lie in it).")
    L.append(f"- `approvals.gpkg`: layer `pzyd` (批准用地, field PZWH, EPSG:{EPSG_GRID}) with "
             + "; ".join(f"{no} over rows {r[0]}-{r[1] - 1} cols {r[2]}-{r[3] - 1}" for no, _, r in APPROVALS_PZYD)
             + " (all of C03, 60 % of C09); layer `ssnyd` (设施农用地 filings, field STRKH) with "
             + "; ".join(f"{no} over rows {r[0]}-{r[1] - 1} cols {r[2]}-{r[3] - 1}" for no, _, r in FILINGS_SSNYD)
             + " (all of the greenhouse C15).")
    L.append(f"- `leads.gpkg`, layer `leads`: a delivered batch ({LEAD_BATCH}, 下发日期 {LEAD_DELIVERED}), "
             f"EPSG:{EPSG_GEO} polygons, fields 线索编号, 批次, 下发日期, 前时相, 后时相, 监测面积 (亩), "
             "往期图斑编号: " + "; ".join(f"{lid} over rows {r[0]}-{r[1] - 1} cols {r[2]}-{r[3] - 1}"
                                     + (f" (往期 {e})" if e else "") for lid, r, e in LEADS)
             + ". The first lies over C01 (found), the second over the 120 m² shed C07 (missed: "
             "under the MMU), the sub-parcels _1 and _2 over C08 and C11. `leads_gbk.shp` is the "
             "same batch as the platform's Shapefile: GBK text (.cpg CP936), fields XSBH, PCMC, "
             "XFRQ, QSX, HSX, JCMJ, WQTBBH.\n")
    L.append("## Construction objects (after epoch only)\n")
    L.append("| object | kind | pixels (m²) | township part(s) | cultivated m² | land before | note |")
    L.append("|---|---|---|---|---|---|---|")
    for oid, parts in objs.items():
        L.append(f"| {oid} | {parts[0]['kind']} | {parts[0]['object_area_m2']} | "
                 + "; ".join(f"{p['township_name']} {p['area_m2']}" for p in parts) + " | "
                 + "; ".join(str(p["cultivated_m2"]) for p in parts) + " | "
                 + land_of(parts) + " | " + parts[0]["notes"] + " |")
    L.append("")
    L.append("Shapes are axis-aligned rectangles and L-shapes on whole pixels, so the truth is "
             "exact. `truth.csv` (UTF-8) has one row per object and township part with `area_m2` "
             "(pixels x 1 m²) and `cultivated_m2` (on 0101/0102/0103), plus the part's envelope "
             "and centroid in EPSG:4546 for matching parcels to objects.\n")
    L.append("## What a correct run must find\n")
    L.append("Detector: NDVI = (NIR-R)/(NIR+R), brightness = (B+G+R)/3, score = (NDVI_before - "
             "NDVI_after) + 1.0 x (Br_after - Br_before)/(Br_after + Br_before); a pixel is flagged "
             "when score > 0.15 and NDVI_after < 0.3 and both epochs are valid; then opening and "
             "closing with a 3 x 3 **square** (radius 1 m) and a 200 m² minimum mapping unit on "
             "4-connected components (`configs/sample.yaml`). With those settings the cleaned mask "
             "equals the union of the objects at or above the MMU, pixel for pixel; C07 (120 m²) "
             "is dropped. A patch split by a township boundary counts once per township (C05).\n")
    L.append("Per township, ranked by cultivated area as the county plan does; 亩 = m² x 0.0015, "
             "each case rounded to 0.01 亩 first and then summed:\n")
    L.append("| rank | township | code | cases | area m² | area 亩 | cultivated cases | "
             "cultivated m² | cultivated 亩 |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for i, t in enumerate(ranked, 1):
        L.append(f"| {i} | {t['name']} | {t['code']} | {t['cases']} | {t['m2']} | "
                 f"{format_mu(t['cmu'])} | {t['ccases']} | {t['cm2']} | {format_mu(t['ccmu'])} |")
    L.append(f"| | **total** | {COUNTY_CODE} | {total['cases']} | {total['m2']} | "
             f"{format_mu(total['cmu'])} | {total['ccases']} | {total['cm2']} | "
             f"{format_mu(total['ccmu'])} |\n")
    L.append("The summary lines in the plan's wording:\n")
    L.append("```")
    L.append(f"共发现各类疑似违法用地 {total['cases']} 宗，总面积 {format_mu(total['cmu'])} 亩"
             f"（其中：耕地 {total['ccases']} 宗，面积 {format_mu(total['ccmu'])} 亩）。")
    for i, t in enumerate(ranked, 1):
        tail = (f"涉及耕地 {t['ccases']} 宗，面积 {format_mu(t['ccmu'])} 亩。" if t["ccases"]
                else "不涉及耕地。")
        L.append(f"{i}. {t['name']}疑似违法用地 {t['cases']} 宗，总面积 {format_mu(t['cmu'])} 亩，"
                 + tail)
    L.append("```\n")
    L.append("Nothing is `unassigned`. Areas computed by a run in EPSG:4546 from the polygonized "
             "mask match `truth.csv` to floating-point precision (compare with a tolerance of "
             "0.01 m²; the townships went through a lon/lat round trip). No per-case area lies "
             "on a 0.005 亩 rounding tie.\n")
    L.append("## Things to know\n")
    L.append("- Objects crossing tile borders: C04 covers all four tiles (around x=497320, "
             "y=3940680). Objects crossing processing row 256 (block_size 256): C08, C13.")
    L.append("- C10 (225 m²) is just above the MMU; C07 (120 m²) is below it.")
    L.append("- The after epoch's gain/offset gives unchanged bare surfaces a score of about "
             "0.03-0.06; ripening fields score about 0.3-0.4 but keep NDVI_after ≈ 0.42.")
    L.append("- The structuring element matters: with a 3 x 3 cross (OpenCV MORPH_CROSS, and "
             "also what getStructuringElement(MORPH_ELLIPSE, 3 x 3) returns) instead of a square, "
             "opening removes each convex corner pixel and closing does not restore it (4 pixels "
             "per rectangle, 5 per L-shape, 55 in all). The truth assumes the square "
             "(MORPH_RECT).")
    L.append(f"- Rounding: 化峪镇's exact total is 6450 m² = 9.675 亩 and the county's {total['m2']} m² = "
             f"{total['m2'] * 0.0015:.3f} 亩, both on a rounding tie when rounded as a sum; rounding each case first "
             f"(as the plan's tables do) gives 9.68 and {format_mu(total['cmu'])} without ambiguity, and the township "
             "lines then add up to the county line exactly.")
    L.append("- The before epoch is warped onto the after grid (reference: after); the grids are "
             "identical, so bilinear resampling returns the source values unchanged (checked "
             "with gdalwarp -r bilinear).")
    (out / "README.md").write_text("\n".join(L) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Check
# --------------------------------------------------------------------------------------------
def read_mosaic(out, folder, prefix, date):
    arr = np.zeros((4, SIZE, SIZE), np.uint16)
    for r in range(2):
        for c in range(2):
            ds = gdal.Open(str(out / folder / tile_name(prefix, date, r, c)))
            gt = ds.GetGeoTransform()
            assert gt == (X0 + c * TILE, 1.0, 0.0, Y0 - r * TILE, 0.0, -1.0), gt
            assert ds.RasterXSize == TILE and ds.RasterYSize == TILE and ds.RasterCount == 4
            assert ds.GetSpatialRef().GetAuthorityCode(None) == str(EPSG_GRID)
            for b, desc in enumerate(("blue", "green", "red", "nir")):
                band = ds.GetRasterBand(b + 1)
                assert band.GetDescription() == desc and band.GetNoDataValue() == 0
                assert band.DataType == gdal.GDT_UInt16
            arr[:, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = ds.ReadAsArray()
    return arr


def ndvi(x):
    n, r = x[3], x[2]
    s = n + r
    return np.where(s > 0, (n - r) / np.where(s > 0, s, 1.0), 0.0)


def brightness(x):
    return (x[0] + x[1] + x[2]) / 3.0


def score_of(before, after):
    b, a = before.astype(np.float64), after.astype(np.float64)
    bb, ba = brightness(b), brightness(a)
    den = ba + bb
    sc = (ndvi(b) - ndvi(a)) + BRIGHTNESS_WEIGHT * np.where(den > 0, (ba - bb) / np.where(
        den > 0, den, 1.0), 0.0)
    return sc, ndvi(a)


def _shift_stack(m, pad, cross):
    p = np.pad(m, 1, constant_values=pad)
    h, w = m.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if cross and dy and dx:
                continue
            yield p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def erode(m, cross=False):
    out = np.ones_like(m)
    for s in _shift_stack(m, True, cross):
        out &= s
    return out


def dilate(m, cross=False):
    out = np.zeros_like(m)
    for s in _shift_stack(m, False, cross):
        out |= s
    return out


def label4(mask):
    big = np.iinfo(np.int64).max
    lab = np.where(mask, np.arange(mask.size, dtype=np.int64).reshape(mask.shape), big)
    while True:
        new = lab.copy()
        new[1:, :] = np.minimum(new[1:, :], np.where(mask[1:, :], lab[:-1, :], big))
        new[:-1, :] = np.minimum(new[:-1, :], np.where(mask[:-1, :], lab[1:, :], big))
        new[:, 1:] = np.minimum(new[:, 1:], np.where(mask[:, 1:], lab[:, :-1], big))
        new[:, :-1] = np.minimum(new[:, :-1], np.where(mask[:, :-1], lab[:, 1:], big))
        new = np.where(mask, new, big)
        if np.array_equal(new, lab):
            break
        lab = new
    return np.where(mask, lab + 1, 0)


def clean(raw, cross=False):
    opened = dilate(erode(raw, cross), cross)
    closed = erode(dilate(opened, cross), cross)
    lab = label4(closed)
    ids, counts = np.unique(lab[lab > 0], return_counts=True)
    keep = ids[counts >= MMU_M2]
    return opened, closed, np.isin(lab, keep) & closed, len(ids), len(keep)


def check(out):
    ok = True

    def fail(msg):
        nonlocal ok
        ok = False
        print("FAIL:", msg)

    scene = Scene()
    before = read_mosaic(out, "qsx", "QSX", QSX_DATE)
    after = read_mosaic(out, "hsx", "HSX", HSX_DATE)
    valid_b = (before != 0).all(axis=0)
    valid_a = (after != 0).all(axis=0)
    if valid_b[:, :NODATA_COLS].any() or not valid_b[:, NODATA_COLS:].all() or not valid_a.all():
        fail("nodata layout")
    valid = valid_b & valid_a
    sc, ndvi_a = score_of(before, after)
    raw = valid & (sc > THRESHOLD) & (ndvi_a < AFTER_VEG_MAX)
    opened, closed, final, ncomp, nkeep = clean(raw)

    truth_mask = np.zeros((SIZE, SIZE), bool)
    print("object  pixels  flagged%  score(min/mean)  NDVI_after(max)")
    for i, (oid, kind, style, rects, note) in enumerate(OBJECTS):
        m = scene.obj_id == i + 1
        n = int(m.sum())
        frac = raw[m].mean()
        print(f"{oid:6s} {n:7d}  {100 * frac:7.2f}  {sc[m].min():6.3f}/{sc[m].mean():6.3f}  "
              f"{ndvi_a[m].max():6.3f}")
        if frac < 0.99:
            fail(f"{oid}: only {100 * frac:.2f} % of its pixels flagged")
        if n >= MMU_M2:
            truth_mask |= m
    outside = ~(scene.obj_id > 0)
    print(f"raw flagged pixels outside objects: {int((raw & outside).sum())}; after opening: "
          f"{int((opened & outside).sum())}; components after closing: {ncomp}, kept: {nkeep}")
    by_scen = {}
    for pid, (key, dlbm, scen, *_r) in enumerate(PATCHES, start=1):
        m = (scene.patch == pid) & outside & valid
        s = by_scen.setdefault(scen, [0, 0, 0])
        s[0] += int(m.sum())
        s[1] += int((m & (sc > THRESHOLD)).sum())
        s[2] += int((m & raw).sum())
    print("scenario          pixels  score>0.15  flagged(raw)")
    for scen, (n, hi, fl) in by_scen.items():
        print(f"{scen:16s} {n:7d}  {hi:10d}  {fl:12d}")
    if (opened & outside).any():
        fail("something outside the objects survives the opening")
    if not np.array_equal(final, truth_mask):
        fail(f"cleaned mask != truth: {int((final & ~truth_mask).sum())} extra, "
             f"{int((truth_mask & ~final).sum())} missing")
    else:
        print(f"cleaned mask == union of the {len(OBJECTS) - 1} objects >= MMU "
              f"({int(truth_mask.sum())} px)")
    # without nodata handling (0 taken as data, 0/0 NDVI = 0) the strip would be flagged
    raw_naive = valid_a & (sc > THRESHOLD) & (ndvi_a < AFTER_VEG_MAX)
    naive_final = clean(raw_naive)[2]
    print(f"nodata strip: flagged if 0 were data: {int(naive_final[:, :NODATA_COLS].sum())} px "
          "after cleaning (a correct run: 0)")
    if naive_final[:, :NODATA_COLS].sum() < MMU_M2:
        fail("the nodata strip does not test anything")
    cross_final = clean(raw, cross=True)[2]
    print(f"with a 3x3 cross instead of a square: {int((truth_mask & ~cross_final).sum())} "
          f"pixels lost, {int((cross_final & ~truth_mask).sum())} extra (informational)")

    # --- vectors: townships (lon/lat -> 4546) and DLTB against truth.csv ---
    with open(out / "truth.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    tds = ogr.Open(str(out / "townships.gpkg"))
    tl = tds.GetLayerByName("townships")
    tsrs = tl.GetSpatialRef()
    if tsrs.GetAuthorityCode(None) != str(EPSG_GEO):
        fail("townships CRS")
    tsrs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(tsrs, grid_srs())
    towns = []
    for f in tl:
        g = f.GetGeometryRef().Clone()
        env = g.GetEnvelope()
        if not (110.5 < env[0] < 111.5 and 35.0 < env[2] < 36.0):
            fail(f"township {f.GetField('XZMC')} not in lon/lat order: {env}")
        g.Transform(ct)
        towns.append((f.GetField(TOWNSHIP_FIELD_NAME), f.GetField(TOWNSHIP_FIELD_CODE), g))
    dds = ogr.Open(str(out / "dltb.gpkg"))
    dl = dds.GetLayerByName("dltb")
    cult = []
    total = 0.0
    for f in dl:
        g = f.GetGeometryRef().Clone()
        total += g.GetArea()
        if abs(g.GetArea() - f.GetField("TBMJ")) > 0.006:
            fail(f"TBMJ of patch {f.GetFID()}")
        code = f.GetField("ZLDWDM")[:9]
        tw = [t for t in towns if t[1] == code]
        if not tw or g.Intersection(tw[0][2]).GetArea() < g.GetArea() - 1e-3:
            fail(f"DLTB patch {f.GetFID()} not inside township {code}")
        if f.GetField("DLBM") in CULTIVATED:
            cult.append(g)
    scene_area = SIZE * SIZE
    print(f"DLTB: {dl.GetFeatureCount()} patches, total {total:.3f} m² "
          f"(scene {scene_area} - outside corner 1800 = {scene_area - 1800})")
    if abs(total - (scene_area - 1800)) > 1e-3:
        fail("DLTB does not cover the county part of the scene")
    # each truth row: intersect the object polygon with its township, then with 耕地
    objects = {o[0]: o for o in OBJECTS}
    for r in truth:
        geom = object_polygon(objects[r["object_id"]][3])
        tw = [t for t in towns if t[1] == r["township_code"]]
        part = geom.Intersection(tw[0][2])
        a = part.GetArea()
        c = sum(part.Intersection(g).GetArea() for g in cult)
        if abs(a - float(r["area_m2"])) > 0.01 or abs(c - float(r["cultivated_m2"])) > 0.01:
            fail(f"{r['object_id']} {r['township_name']}: vector {a:.4f}/{c:.4f} vs truth "
                 f"{r['area_m2']}/{r['cultivated_m2']}")
        for name, code, g in towns:
            if code != r["township_code"]:
                other = geom.Intersection(g).GetArea()
                if other > 0.01 and not any(t["object_id"] == r["object_id"]
                                            and t["township_code"] == code for t in truth):
                    fail(f"{r['object_id']} also in {name} ({other:.3f} m²)")
        if r["below_mmu"] == "false" and int(r["area_m2"]) % 20 == 10:
            fail(f"{r['object_id']}: area on a 0.005 亩 rounding tie")
    print(f"vector overlay agrees with truth.csv ({len(truth)} rows)")
    # where the scene is
    ctg = osr.CoordinateTransformation(grid_srs(), geo_srs())
    lon, lat, _ = ctg.TransformPoint(X0 + SIZE / 2, Y0 - SIZE / 2)
    print(f"scene centre: {lon:.5f}E {lat:.5f}N")
    print("CHECK", "OK" if ok else "FAILED")
    return ok


# --------------------------------------------------------------------------------------------
def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    scene = Scene()
    write_tiles(out, "qsx", "QSX", QSX_DATE, scene.epoch_dn("q"), "03:12:40")
    write_tiles(out, "hsx", "HSX", HSX_DATE, scene.epoch_dn("h"), "03:18:05")
    write_townships(out)
    n_dltb = write_dltb(out, scene)
    write_enforcement_layers(out)
    rows = truth_rows(scene)
    write_truth(out, rows)
    write_readme(out, rows, n_dltb)
    for p in sorted(out.rglob("*")):
        if p.is_file():
            h = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            print(f"{p.stat().st_size:9d}  {h}  {p.relative_to(out)}")


def main():
    default_out = Path(__file__).resolve().parent.parent / "sample_tiles"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=str(default_out), help="output folder")
    ap.add_argument("--check", action="store_true", help="verify the outputs after writing")
    ap.add_argument("--check-only", action="store_true", help="verify an existing folder")
    args = ap.parse_args()
    out = Path(args.out)
    if not args.check_only:
        generate(out)
    if args.check or args.check_only:
        return 0 if check(out) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
