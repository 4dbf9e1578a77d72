;; SIMD kernels for parq-ts's wasm training kernels (src/backend/wasm). The module
;; imports the tfjs wasm backend's memory, so every pointer below is a byte address of a
;; tensor (or scratch tensor) in the backend's heap, and results are written in place.
;; Assembled by scripts/build-wasm-kernels.mjs into kernels-wasm.ts (committed).
;;
;; fg_KxV: one block of the filter gradient of an NHWC convolution as an implicit GEMM,
;;   out[k, c] += sum over (n, oh, ow) of x[n, oh, ow][k] * dy[n, oh, ow][c]
;;   for K = 4 or 1 consecutive floats k of the (zero-padded) input at each output pixel and
;;   V = 2 or 1 vectors (8 or 4 floats) of output channels c. x is walked with byte strides
;;   xImg (image), xRow (output row: stride height rows), xCol (output column: stride width
;;   pixels); dy contiguously, dyPix bytes a pixel; out rows are outRow bytes apart.
;;   Register tiling: K x V accumulators, one splat of x and V loads of dy per k.
;; colsum: out[c] = scale * sum over r of x[r, c] for a [rows, cols] matrix (the reduction of
;;   a tensor over its leading axes: batch norm's Sum and Mean), summed in chunks of 256 rows
;;   into `part` (cols floats of scratch) and then into out, to keep float32 rounding small.
;; bn_sums: the per-channel sums of a training batch norm, in double precision, over the
;;   rows of a [rows, cols] matrix x (cols a multiple of 4) with d = x[r, c] - shift[c]
;;   (float32): without g (g = 0), s1[c] = sum of d and s2[c] = sum of d * d (the moments,
;;   shifted by a row of x so the sums do not cancel); with g (a second [rows, cols] matrix,
;;   the gradient dy), s1[c] = sum of g and s2[c] = sum of g * d (shift = the mean). s1, s2:
;;   cols doubles each, overwritten. Each float32 vector is widened to two f64x2 halves.
;; bn_affine: out[r, c] = (x[r, c] - mean[c]) * scale[c] + shift[c], plus g[r, c] * gscale[c]
;;   when g != 0, for [rows, cols] matrices (cols a multiple of 4): batch norm's output
;;   (no g) and its input gradient (g = dy).
;; relu_grad: out[i] = dy[i] * s[i] for n floats, s = 1 where x > 0, NaN where x is NaN, 0
;;   elsewhere (the ReLU gradient, as tfjs's dy * step(x)); the last n mod 4 one at a time.
;; mulrows: out[r, c] = a[r, c] * b[c] for a [rows, cols] matrix and a row b (elementwise
;;   Multiply where one operand broadcasts over the other's leading axes; rows 1: same shapes).
;; addrows: out[r, c] = a[r, c] + b[c], the same for Add (a convolution's or dense layer's
;;   bias).
;; maxpool_grad: the gradient of an NHWC max pool, dx[first maximum of each window in row-major
;;   window order] += dy[window], for every channel (ties and NaN like the cpu backend: a value
;;   replaces the running maximum only if it is strictly greater; a window with no value above
;;   -Infinity routes nothing). Four channels per SIMD step (the running maximum and its byte
;;   offset in two vectors; past a multiple of 4 the last four channels again, scattering
;;   only the lanes not yet done), fewer than 4 channels one at a time; the scatter adds lane
;;   by lane, windows in order. out (the input's shape) must be zero on entry.
;;   Geometry: n images of h x w pixels of c channels; oh x ow windows of fh x fw pixels,
;;   strides sh, sw, the first window at (-top, -left).
;; bi_8: one block of 32 consecutive (column, channel) values of each filter row of the
;;   input gradient of an NHWC convolution, scattered (the transposed implicit GEMM): for
;;   every dy pixel p = (n, oh, ow) and filter row kh,
;;   out[n, oh*sh + kh, ow*sw ..][k] += sum over c of wt[kh][c][k] * dy[p][c] for k < jn
;;   (jn <= 32 values of the block; wt zero-padded to 32 floats per (kh, c)). out is the
;;   input gradient zero-padded where the convolution pads (the caller crops it). 8 SIMD
;;   accumulators per pixel and filter row, one splat of dy per output channel; when jn is not
;;   a multiple of 4 the last vector is stored lane by lane. Byte strides: out by outImg
;;   (image), outRow (output row: sh rows), outCol (output column: sw pixels), outKh (one
;;   row); wt by wtKh per filter row. dy contiguous, co floats a pixel.
;; padrows: out[r, 0..cols) = x[r, :], out[r, cols..colsOut) = 0 for a [rows, cols] matrix
;;   into a [rows, colsOut] one (colsOut >= cols): the filter gradient's dy with its channels
;;   padded to a multiple of 4.
;; conv_8: a forward NHWC convolution as an implicit GEMM, one block of up to 8 output
;;   channels: for every output pixel (n, oh, ow),
;;   out[pixel][o] = sum over kh < fh, k < fw of x[n, oh*sh + kh, ow*sw ..][k] * wt[kh][k][o]
;;   for o < on, where k runs over the fw consecutive floats of a filter row's patch (its
;;   (column, channel) values: fw is the filter width times the input channels; a grayscale
;;   stem, LeNet-5's first convolution, has one channel) and x is zero-padded where the
;;   convolution pads; wt 8 floats per (kh, k), zero past the block's channels. Four pixels of
;;   a row at a time (8 SIMD accumulators, the two vectors of a k's weights loaded once for the
;;   four), the rest of the row one by one; the output channels past a multiple of 4 stored
;;   lane by lane. Byte strides: x by xImg (image), xRow (output row: sh rows), xCol (output
;;   column: sw pixels), xKh (one row); out by outImg, outRow, outCol (so the output can be
;;   every other pixel of a larger tensor: one phase of a strided input gradient).
(module
  (import "env" "memory" (memory 1))
  (func $fg_4x2 (export "fg_4x2")
    (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $xImg i32) (param $xRow i32) (param $xCol i32) (param $dyPix i32) (param $outRow i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $d0 v128) (local $d1 v128) (local $s v128)
    (local $img i32) (local $row i32) (local $px i32) (local $pd i32) (local $i i32) (local $r i32) (local $q i32)
    (local.set $img (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $q (local.get $ow))
        (loop $cols
          (local.set $d0 (v128.load offset=0 (local.get $pd)))
          (local.set $d1 (v128.load offset=16 (local.get $pd)))
          (local.set $s (v128.load32_splat offset=0 (local.get $px)))
          (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $d1))))
          (local.set $s (v128.load32_splat offset=4 (local.get $px)))
          (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $d1))))
          (local.set $s (v128.load32_splat offset=8 (local.get $px)))
          (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $d1))))
          (local.set $s (v128.load32_splat offset=12 (local.get $px)))
          (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $d1))))
          (local.set $px (i32.add (local.get $px) (local.get $xCol)))
          (local.set $pd (i32.add (local.get $pd) (local.get $dyPix)))
          (br_if $cols (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (local.get $xRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $xImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a00)))
    (v128.store offset=16 (local.get $out)
      (f32x4.add (v128.load offset=16 (local.get $out)) (local.get $a01)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a10)))
    (v128.store offset=16 (local.get $out)
      (f32x4.add (v128.load offset=16 (local.get $out)) (local.get $a11)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a20)))
    (v128.store offset=16 (local.get $out)
      (f32x4.add (v128.load offset=16 (local.get $out)) (local.get $a21)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a30)))
    (v128.store offset=16 (local.get $out)
      (f32x4.add (v128.load offset=16 (local.get $out)) (local.get $a31)))
  )
  (func $fg_4x1 (export "fg_4x1")
    (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $xImg i32) (param $xRow i32) (param $xCol i32) (param $dyPix i32) (param $outRow i32)
    (local $a00 v128) (local $a10 v128) (local $a20 v128) (local $a30 v128)
    (local $d0 v128) (local $s v128)
    (local $img i32) (local $row i32) (local $px i32) (local $pd i32) (local $i i32) (local $r i32) (local $q i32)
    (local.set $img (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $q (local.get $ow))
        (loop $cols
          (local.set $d0 (v128.load offset=0 (local.get $pd)))
          (local.set $s (v128.load32_splat offset=0 (local.get $px)))
          (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $s (v128.load32_splat offset=4 (local.get $px)))
          (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $s (v128.load32_splat offset=8 (local.get $px)))
          (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $s (v128.load32_splat offset=12 (local.get $px)))
          (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $px (i32.add (local.get $px) (local.get $xCol)))
          (local.set $pd (i32.add (local.get $pd) (local.get $dyPix)))
          (br_if $cols (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (local.get $xRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $xImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a00)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a10)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a20)))
    (local.set $out (i32.add (local.get $out) (local.get $outRow)))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a30)))
  )
  (func $fg_1x2 (export "fg_1x2")
    (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $xImg i32) (param $xRow i32) (param $xCol i32) (param $dyPix i32) (param $outRow i32)
    (local $a00 v128) (local $a01 v128)
    (local $d0 v128) (local $d1 v128) (local $s v128)
    (local $img i32) (local $row i32) (local $px i32) (local $pd i32) (local $i i32) (local $r i32) (local $q i32)
    (local.set $img (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $q (local.get $ow))
        (loop $cols
          (local.set $d0 (v128.load offset=0 (local.get $pd)))
          (local.set $d1 (v128.load offset=16 (local.get $pd)))
          (local.set $s (v128.load32_splat offset=0 (local.get $px)))
          (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $d1))))
          (local.set $px (i32.add (local.get $px) (local.get $xCol)))
          (local.set $pd (i32.add (local.get $pd) (local.get $dyPix)))
          (br_if $cols (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (local.get $xRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $xImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a00)))
    (v128.store offset=16 (local.get $out)
      (f32x4.add (v128.load offset=16 (local.get $out)) (local.get $a01)))
  )
  (func $fg_1x1 (export "fg_1x1")
    (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $xImg i32) (param $xRow i32) (param $xCol i32) (param $dyPix i32) (param $outRow i32)
    (local $a00 v128)
    (local $d0 v128) (local $s v128)
    (local $img i32) (local $row i32) (local $px i32) (local $pd i32) (local $i i32) (local $r i32) (local $q i32)
    (local.set $img (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $q (local.get $ow))
        (loop $cols
          (local.set $d0 (v128.load offset=0 (local.get $pd)))
          (local.set $s (v128.load32_splat offset=0 (local.get $px)))
          (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
          (local.set $px (i32.add (local.get $px) (local.get $xCol)))
          (local.set $pd (i32.add (local.get $pd) (local.get $dyPix)))
          (br_if $cols (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (local.get $xRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $xImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (v128.store offset=0 (local.get $out)
      (f32x4.add (v128.load offset=0 (local.get $out)) (local.get $a00)))
  )
  (func $colsum (export "colsum")
    (param $x i32) (param $out i32) (param $part i32) (param $rows i32) (param $cols i32) (param $scale f32)
    (local $r i32) (local $chunk i32) (local $c i32) (local $p i32) (local $o i32) (local $end i32)
    (local $vecEnd i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $rowBytes) (i32.const -16)))
    ;; out = 0
    (local.set $c (i32.const 0))
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $c) (local.get $rowBytes)))
      (f32.store (i32.add (local.get $out) (local.get $c)) (f32.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $zl)))
    (local.set $r (i32.const 0))
    (block $done (loop $chunks
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      ;; part = the next chunk's first row
      (memory.copy (local.get $part) (local.get $x) (local.get $rowBytes))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $end (i32.add (local.get $r) (i32.const 256)))
      (if (i32.gt_u (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (block $chunkDone (loop $rowsl
        (br_if $chunkDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $c (i32.const 0))
        (block $vd (loop $vl
          (br_if $vd (i32.ge_u (local.get $c) (local.get $vecEnd)))
          (local.set $p (i32.add (local.get $part) (local.get $c)))
          (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p))
            (v128.load (i32.add (local.get $x) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.ge_u (local.get $c) (local.get $rowBytes)))
          (local.set $p (i32.add (local.get $part) (local.get $c)))
          (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
            (f32.load (i32.add (local.get $x) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $sl)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsl)))
      ;; out += part
      (local.set $c (i32.const 0))
      (block $ad (loop $al
        (br_if $ad (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (local.set $o (i32.add (local.get $out) (local.get $c)))
        (f32.store (local.get $o) (f32.add (f32.load (local.get $o))
          (f32.load (i32.add (local.get $part) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $al)))
      (br $chunks)))
    ;; out *= scale
    (local.set $c (i32.const 0))
    (block $md (loop $ml
      (br_if $md (i32.ge_u (local.get $c) (local.get $rowBytes)))
      (local.set $o (i32.add (local.get $out) (local.get $c)))
      (f32.store (local.get $o) (f32.mul (f32.load (local.get $o)) (local.get $scale)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $ml)))
  )
  (func $bn_sums (export "bn_sums")
    (param $x i32) (param $shift i32) (param $g i32) (param $s1 i32) (param $s2 i32)
    (param $rows i32) (param $cols i32)
    (local $c i32) (local $rowBytes i32) (local $r i32) (local $p i32)
    (local $d v128) (local $a v128) (local $b v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $s1) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (memory.fill (local.get $s2) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $r (local.get $rows))
    (block $done (loop $rowsl
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c)))
          (v128.load (i32.add (local.get $shift) (local.get $c)))))
        (if (local.get $g)
          (then
            (local.set $a (v128.load (i32.add (local.get $g) (local.get $c))))
            (local.set $b (f32x4.mul (local.get $a) (local.get $d))))
          (else
            (local.set $a (local.get $d))
            (local.set $b (f32x4.mul (local.get $d) (local.get $d)))))
        (local.set $p (i32.add (local.get $s1) (i32.shl (local.get $c) (i32.const 1))))
        (v128.store offset=0 (local.get $p) (f64x2.add (v128.load offset=0 (local.get $p))
          (f64x2.promote_low_f32x4 (local.get $a))))
        (v128.store offset=16 (local.get $p) (f64x2.add (v128.load offset=16 (local.get $p))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (local.get $a) (local.get $a)))))
        (local.set $p (i32.add (local.get $s2) (i32.shl (local.get $c) (i32.const 1))))
        (v128.store offset=0 (local.get $p) (f64x2.add (v128.load offset=0 (local.get $p))
          (f64x2.promote_low_f32x4 (local.get $b))))
        (v128.store offset=16 (local.get $p) (f64x2.add (v128.load offset=16 (local.get $p))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (local.get $b) (local.get $b)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $vl)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (if (local.get $g) (then (local.set $g (i32.add (local.get $g) (local.get $rowBytes)))))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowsl)))
  )
  (func $bn_affine (export "bn_affine")
    (param $x i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $g i32)
    (param $gscale i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $c i32) (local $rowBytes i32) (local $r i32) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $r (local.get $rows))
    (block $done (loop $rowsl
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (local.set $v (f32x4.add
          (f32x4.mul
            (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c)))
              (v128.load (i32.add (local.get $mean) (local.get $c))))
            (v128.load (i32.add (local.get $scale) (local.get $c))))
          (v128.load (i32.add (local.get $shift) (local.get $c)))))
        (if (local.get $g) (then
          (local.set $v (f32x4.add (local.get $v)
            (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $c)))
              (v128.load (i32.add (local.get $gscale) (local.get $c))))))))
        (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $vl)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (if (local.get $g) (then (local.set $g (i32.add (local.get $g) (local.get $rowBytes)))))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowsl)))
  )
  (func $relu_grad (export "relu_grad")
    (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $v v128) (local $s f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vd (loop $vl
      (br_if $vd (i32.ge_u (local.get $i) (local.get $vecEnd)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (v128.store (i32.add (local.get $out) (local.get $i))
        (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i)))
          ;; NaN lanes keep x (a NaN), the others 1 or 0
          (v128.bitselect (local.get $v)
            (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0))
              (v128.const f32x4 1 1 1 1))
            (f32x4.ne (local.get $v) (local.get $v)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $vl)))
    (block $sd (loop $sl
      (br_if $sd (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $s (f32.load (i32.add (local.get $x) (local.get $i))))
      (f32.store (i32.add (local.get $out) (local.get $i))
        (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i)))
          (select (local.get $s)
            (select (f32.const 1) (f32.const 0) (f32.gt (local.get $s) (f32.const 0)))
            (f32.ne (local.get $s) (local.get $s)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $sl)))
  )
  (func $mulrows (export "mulrows")
    (param $a i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $c i32) (local $rowBytes i32) (local $vecEnd i32) (local $r i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $r (local.get $rows))
    (block $done (loop $rowsl
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $c) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $c)))
            (v128.load (i32.add (local.get $b) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $out) (local.get $c))
          (f32.mul (f32.load (i32.add (local.get $a) (local.get $c)))
            (f32.load (i32.add (local.get $b) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $sl)))
      (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowsl)))
  )
  (func $addrows (export "addrows")
    (param $a i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $c i32) (local $rowBytes i32) (local $vecEnd i32) (local $r i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $r (local.get $rows))
    (block $done (loop $rowsl
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $c) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (f32x4.add (v128.load (i32.add (local.get $a) (local.get $c)))
            (v128.load (i32.add (local.get $b) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $out) (local.get $c))
          (f32.add (f32.load (i32.add (local.get $a) (local.get $c)))
            (f32.load (i32.add (local.get $b) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $sl)))
      (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowsl)))
  )
  (func $maxpool_grad (export "maxpool_grad")
    (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $pix i32) (local $rowB i32) (local $imgB i32) (local $vecEnd i32) (local $last i32) (local $skip i32)
    (local $b i32) (local $r i32) (local $q i32) (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32)
    (local $i i32) (local $j i32) (local $k i32) (local $off i32) (local $a i32) (local $xi i32) (local $oi i32)
    (local $best v128) (local $at v128) (local $v v128) (local $m v128) (local $d v128)
    (local $sbest f32) (local $sat i32) (local $sv f32)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $pix)))
    (local.set $imgB (i32.mul (local.get $h) (local.get $rowB)))
    ;; vector steps cover all channels when there are at least 4; $last: the last step's offset
    (local.set $vecEnd (i32.const 0))
    (local.set $last (i32.sub (local.get $pix) (i32.const 16)))
    (if (i32.ge_u (local.get $pix) (i32.const 16)) (then (local.set $vecEnd (local.get $pix))))
    (local.set $b (i32.const 0))
    (block $imagesDone (loop $images
      (br_if $imagesDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $xi (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $imgB))))
      (local.set $oi (i32.add (local.get $out) (i32.mul (local.get $b) (local.get $imgB))))
      (local.set $r (i32.const 0))
      (block $rowsDone (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $oh)))
        (local.set $r0 (i32.sub (i32.mul (local.get $r) (local.get $sh)) (local.get $top)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $fh)))
        (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
        (if (i32.gt_s (local.get $r1) (local.get $h)) (then (local.set $r1 (local.get $h))))
        (local.set $q (i32.const 0))
        (block $colsDone (loop $cols
          (br_if $colsDone (i32.ge_u (local.get $q) (local.get $ow)))
          (local.set $c0 (i32.sub (i32.mul (local.get $q) (local.get $sw)) (local.get $left)))
          (local.set $c1 (i32.add (local.get $c0) (local.get $fw)))
          (if (i32.lt_s (local.get $c0) (i32.const 0)) (then (local.set $c0 (i32.const 0))))
          (if (i32.gt_s (local.get $c1) (local.get $w)) (then (local.set $c1 (local.get $w))))
          ;; four channels at a time; past a multiple of 4, the last four channels again, their
          ;; lanes already done (below $skip bytes) left out of the scatter
          (local.set $k (i32.const 0))
          (block $vecDone (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $k) (local.get $vecEnd)))
            (local.set $skip (i32.const 0))
            (if (i32.gt_u (local.get $k) (local.get $last)) (then
              (local.set $skip (i32.sub (local.get $k) (local.get $last)))
              (local.set $k (local.get $last))))
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $at (i32x4.splat (i32.const -1)))
            (local.set $i (local.get $r0))
            (block $wrDone (loop $wr
              (br_if $wrDone (i32.ge_s (local.get $i) (local.get $r1)))
              (local.set $off (i32.add (i32.add (i32.mul (local.get $i) (local.get $rowB))
                (i32.mul (local.get $c0) (local.get $pix))) (local.get $k)))
              (local.set $j (local.get $c0))
              (block $wcDone (loop $wc
                (br_if $wcDone (i32.ge_s (local.get $j) (local.get $c1)))
                (local.set $v (v128.load (i32.add (local.get $xi) (local.get $off))))
                (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect
                  (i32x4.add (i32x4.splat (local.get $off)) (v128.const i32x4 0 4 8 12))
                  (local.get $at) (local.get $m)))
                (local.set $off (i32.add (local.get $off) (local.get $pix)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $wc)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $wr)))
            (local.set $d (v128.load (i32.add (local.get $dy) (local.get $k))))
            (local.set $a (i32x4.extract_lane 0 (local.get $at)))
            (if (i32.and (i32.ge_s (local.get $a) (i32.const 0))
                (i32.le_u (local.get $skip) (i32.const 0))) (then
              (local.set $a (i32.add (local.get $oi) (local.get $a)))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32x4.extract_lane 0 (local.get $d))))))
            (local.set $a (i32x4.extract_lane 1 (local.get $at)))
            (if (i32.and (i32.ge_s (local.get $a) (i32.const 0))
                (i32.le_u (local.get $skip) (i32.const 4))) (then
              (local.set $a (i32.add (local.get $oi) (local.get $a)))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32x4.extract_lane 1 (local.get $d))))))
            (local.set $a (i32x4.extract_lane 2 (local.get $at)))
            (if (i32.and (i32.ge_s (local.get $a) (i32.const 0))
                (i32.le_u (local.get $skip) (i32.const 8))) (then
              (local.set $a (i32.add (local.get $oi) (local.get $a)))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32x4.extract_lane 2 (local.get $d))))))
            (local.set $a (i32x4.extract_lane 3 (local.get $at)))
            (if (i32.and (i32.ge_s (local.get $a) (i32.const 0))
                (i32.le_u (local.get $skip) (i32.const 12))) (then
              (local.set $a (i32.add (local.get $oi) (local.get $a)))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32x4.extract_lane 3 (local.get $d))))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vec)))
          ;; fewer than 4 channels: one at a time
          (block $tailDone (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $k) (local.get $pix)))
            (local.set $sbest (f32.const -inf))
            (local.set $sat (i32.const -1))
            (local.set $i (local.get $r0))
            (block $trDone (loop $tr
              (br_if $trDone (i32.ge_s (local.get $i) (local.get $r1)))
              (local.set $off (i32.add (i32.add (i32.mul (local.get $i) (local.get $rowB))
                (i32.mul (local.get $c0) (local.get $pix))) (local.get $k)))
              (local.set $j (local.get $c0))
              (block $tcDone (loop $tc
                (br_if $tcDone (i32.ge_s (local.get $j) (local.get $c1)))
                (local.set $sv (f32.load (i32.add (local.get $xi) (local.get $off))))
                (if (f32.gt (local.get $sv) (local.get $sbest)) (then
                  (local.set $sbest (local.get $sv))
                  (local.set $sat (local.get $off))))
                (local.set $off (i32.add (local.get $off) (local.get $pix)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tc)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $tr)))
            (if (i32.ge_s (local.get $sat) (i32.const 0)) (then
              (local.set $a (i32.add (local.get $oi) (local.get $sat)))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a))
                (f32.load (i32.add (local.get $dy) (local.get $k)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $tail)))
          (local.set $dy (i32.add (local.get $dy) (local.get $pix)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images)))
  )
  (func $bi_8 (export "bi_8")
    (param $dy i32) (param $wt i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $fh i32) (param $co i32) (param $jn i32) (param $outImg i32) (param $outRow i32) (param $outCol i32) (param $outKh i32) (param $wtKh i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $s v128) (local $img i32) (local $row i32) (local $px i32) (local $dst i32) (local $w i32) (local $pd i32)
    (local $i i32) (local $r i32) (local $q i32) (local $kh i32) (local $c i32) (local $o i32)
    (local.set $img (local.get $out))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $q (local.get $ow))
        (loop $cols
          (local.set $dst (local.get $px))
          (local.set $w (local.get $wt))
          (local.set $kh (local.get $fh))
          (loop $khs
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $a4 (v128.const i32x4 0 0 0 0))
            (local.set $a5 (v128.const i32x4 0 0 0 0))
            (local.set $a6 (v128.const i32x4 0 0 0 0))
            (local.set $a7 (v128.const i32x4 0 0 0 0))
            (local.set $pd (local.get $dy))
            (local.set $o (local.get $w))
            (local.set $c (local.get $co))
            (loop $chans
              (local.set $s (v128.load32_splat (local.get $pd)))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $o)))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $o)))))
              (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $o)))))
              (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $o)))))
              (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (v128.load offset=64 (local.get $o)))))
              (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (v128.load offset=80 (local.get $o)))))
              (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (v128.load offset=96 (local.get $o)))))
              (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (v128.load offset=112 (local.get $o)))))
              (local.set $pd (i32.add (local.get $pd) (i32.const 4)))
              (local.set $o (i32.add (local.get $o) (i32.const 128)))
              (br_if $chans (local.tee $c (i32.sub (local.get $c) (i32.const 1)))))
            (block $stored
              (if (i32.ge_u (local.get $jn) (i32.const 4)) (then
                (v128.store offset=0 (local.get $dst) (f32x4.add (v128.load offset=0 (local.get $dst)) (local.get $a0))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 0)))
                  (f32.store offset=0 (local.get $dst) (f32.add (f32.load offset=0 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a0))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 1)))
                  (f32.store offset=4 (local.get $dst) (f32.add (f32.load offset=4 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a0))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 2)))
                  (f32.store offset=8 (local.get $dst) (f32.add (f32.load offset=8 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a0))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 8)) (then
                (v128.store offset=16 (local.get $dst) (f32x4.add (v128.load offset=16 (local.get $dst)) (local.get $a1))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 4)))
                  (f32.store offset=16 (local.get $dst) (f32.add (f32.load offset=16 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a1))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 5)))
                  (f32.store offset=20 (local.get $dst) (f32.add (f32.load offset=20 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a1))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 6)))
                  (f32.store offset=24 (local.get $dst) (f32.add (f32.load offset=24 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a1))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 12)) (then
                (v128.store offset=32 (local.get $dst) (f32x4.add (v128.load offset=32 (local.get $dst)) (local.get $a2))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 8)))
                  (f32.store offset=32 (local.get $dst) (f32.add (f32.load offset=32 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a2))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 9)))
                  (f32.store offset=36 (local.get $dst) (f32.add (f32.load offset=36 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a2))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 10)))
                  (f32.store offset=40 (local.get $dst) (f32.add (f32.load offset=40 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a2))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 16)) (then
                (v128.store offset=48 (local.get $dst) (f32x4.add (v128.load offset=48 (local.get $dst)) (local.get $a3))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 12)))
                  (f32.store offset=48 (local.get $dst) (f32.add (f32.load offset=48 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a3))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 13)))
                  (f32.store offset=52 (local.get $dst) (f32.add (f32.load offset=52 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a3))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 14)))
                  (f32.store offset=56 (local.get $dst) (f32.add (f32.load offset=56 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a3))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 20)) (then
                (v128.store offset=64 (local.get $dst) (f32x4.add (v128.load offset=64 (local.get $dst)) (local.get $a4))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 16)))
                  (f32.store offset=64 (local.get $dst) (f32.add (f32.load offset=64 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a4))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 17)))
                  (f32.store offset=68 (local.get $dst) (f32.add (f32.load offset=68 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a4))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 18)))
                  (f32.store offset=72 (local.get $dst) (f32.add (f32.load offset=72 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a4))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 24)) (then
                (v128.store offset=80 (local.get $dst) (f32x4.add (v128.load offset=80 (local.get $dst)) (local.get $a5))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 20)))
                  (f32.store offset=80 (local.get $dst) (f32.add (f32.load offset=80 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a5))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 21)))
                  (f32.store offset=84 (local.get $dst) (f32.add (f32.load offset=84 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a5))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 22)))
                  (f32.store offset=88 (local.get $dst) (f32.add (f32.load offset=88 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a5))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 28)) (then
                (v128.store offset=96 (local.get $dst) (f32x4.add (v128.load offset=96 (local.get $dst)) (local.get $a6))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 24)))
                  (f32.store offset=96 (local.get $dst) (f32.add (f32.load offset=96 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a6))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 25)))
                  (f32.store offset=100 (local.get $dst) (f32.add (f32.load offset=100 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a6))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 26)))
                  (f32.store offset=104 (local.get $dst) (f32.add (f32.load offset=104 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a6))))
                  (br $stored)))
              (if (i32.ge_u (local.get $jn) (i32.const 32)) (then
                (v128.store offset=112 (local.get $dst) (f32x4.add (v128.load offset=112 (local.get $dst)) (local.get $a7))))
                (else
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 28)))
                  (f32.store offset=112 (local.get $dst) (f32.add (f32.load offset=112 (local.get $dst)) (f32x4.extract_lane 0 (local.get $a7))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 29)))
                  (f32.store offset=116 (local.get $dst) (f32.add (f32.load offset=116 (local.get $dst)) (f32x4.extract_lane 1 (local.get $a7))))
                  (br_if $stored (i32.le_u (local.get $jn) (i32.const 30)))
                  (f32.store offset=120 (local.get $dst) (f32.add (f32.load offset=120 (local.get $dst)) (f32x4.extract_lane 2 (local.get $a7))))
                  (br $stored)))
            )
            (local.set $dst (i32.add (local.get $dst) (local.get $outKh)))
            (local.set $w (i32.add (local.get $w) (local.get $wtKh)))
            (br_if $khs (local.tee $kh (i32.sub (local.get $kh) (i32.const 1)))))
          (local.set $dy (i32.add (local.get $dy) (i32.shl (local.get $co) (i32.const 2))))
          (local.set $px (i32.add (local.get $px) (local.get $outCol)))
          (br_if $cols (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (local.get $outRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $outImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  )
  (func $padrows (export "padrows")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $colsOut i32)
    (local $c i32) (local $inB i32) (local $outB i32) (local $vecEnd i32) (local $r i32)
    (local.set $inB (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $outB (i32.shl (local.get $colsOut) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $inB) (i32.const -16)))
    (local.set $r (local.get $rows))
    (block $done (loop $rowsl
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $c) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (v128.load (i32.add (local.get $x) (local.get $c))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $c) (local.get $inB)))
        (f32.store (i32.add (local.get $out) (local.get $c))
          (f32.load (i32.add (local.get $x) (local.get $c))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $sl)))
      (block $zd (loop $zl
        (br_if $zd (i32.ge_u (local.get $c) (local.get $outB)))
        (f32.store (i32.add (local.get $out) (local.get $c)) (f32.const 0))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $zl)))
      (local.set $x (i32.add (local.get $x) (local.get $inB)))
      (local.set $out (i32.add (local.get $out) (local.get $outB)))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowsl)))
  )
  (func $conv_8 (export "conv_8")
    (param $x i32) (param $wt i32) (param $out i32) (param $n i32) (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32) (param $on i32) (param $xImg i32) (param $xRow i32) (param $xCol i32) (param $xKh i32) (param $outCol i32) (param $outRow i32) (param $outImg i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128) (local $s v128) (local $w0 v128) (local $w1 v128)
    (local $img i32) (local $row i32) (local $oimg i32) (local $orow i32) (local $px i32) (local $src i32) (local $w i32) (local $o i32)
    (local $i i32) (local $r i32) (local $q i32) (local $kh i32) (local $kw i32) (local $k i32)
    (local.set $img (local.get $x))
    (local.set $oimg (local.get $out))
    (local.set $i (local.get $n))
    (loop $images
      (local.set $row (local.get $img))
      (local.set $orow (local.get $oimg))
      (local.set $r (local.get $oh))
      (loop $rows
        (local.set $px (local.get $row))
        (local.set $out (local.get $orow))
        (local.set $q (local.get $ow))
        (block $quadsDone (loop $quads
          (br_if $quadsDone (i32.lt_u (local.get $q) (i32.const 4)))
          (local.set $a00 (v128.const i32x4 0 0 0 0))
          (local.set $a01 (v128.const i32x4 0 0 0 0))
          (local.set $a10 (v128.const i32x4 0 0 0 0))
          (local.set $a11 (v128.const i32x4 0 0 0 0))
          (local.set $a20 (v128.const i32x4 0 0 0 0))
          (local.set $a21 (v128.const i32x4 0 0 0 0))
          (local.set $a30 (v128.const i32x4 0 0 0 0))
          (local.set $a31 (v128.const i32x4 0 0 0 0))
          (local.set $w (local.get $wt))
          (local.set $src (local.get $px))
          (local.set $kh (local.get $fh))
          (loop $khs
            (local.set $k (local.get $src))
            (local.set $kw (local.get $fw))
            (loop $kws
              (local.set $w0 (v128.load offset=0 (local.get $w)))
              (local.set $w1 (v128.load offset=16 (local.get $w)))
              (local.set $s (v128.load32_splat (local.get $k)))
              (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $w0))))
              (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $w1))))
              (local.set $s (v128.load32_splat (i32.add (local.get $k) (i32.mul (local.get $xCol) (i32.const 1)))))
              (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $w0))))
              (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $w1))))
              (local.set $s (v128.load32_splat (i32.add (local.get $k) (i32.mul (local.get $xCol) (i32.const 2)))))
              (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $w0))))
              (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $w1))))
              (local.set $s (v128.load32_splat (i32.add (local.get $k) (i32.mul (local.get $xCol) (i32.const 3)))))
              (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $w0))))
              (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $w1))))
              (local.set $w (i32.add (local.get $w) (i32.const 32)))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br_if $kws (local.tee $kw (i32.sub (local.get $kw) (i32.const 1)))))
            (local.set $src (i32.add (local.get $src) (local.get $xKh)))
            (br_if $khs (local.tee $kh (i32.sub (local.get $kh) (i32.const 1)))))
          (local.set $o (local.get $out))
            (block $stored0
              (if (i32.ge_u (local.get $on) (i32.const 4)) (then
                (v128.store offset=0 (local.get $o) (local.get $a00)))
                (else
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 0)))
                  (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $a00)))
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 1)))
                  (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $a00)))
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 2)))
                  (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $a00)))
                  (br $stored0)))
              (if (i32.ge_u (local.get $on) (i32.const 8)) (then
                (v128.store offset=16 (local.get $o) (local.get $a01)))
                (else
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 4)))
                  (f32.store offset=16 (local.get $o) (f32x4.extract_lane 0 (local.get $a01)))
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 5)))
                  (f32.store offset=20 (local.get $o) (f32x4.extract_lane 1 (local.get $a01)))
                  (br_if $stored0 (i32.le_u (local.get $on) (i32.const 6)))
                  (f32.store offset=24 (local.get $o) (f32x4.extract_lane 2 (local.get $a01)))
                  (br $stored0)))
            )
          (local.set $o (i32.add (local.get $o) (local.get $outCol)))
            (block $stored1
              (if (i32.ge_u (local.get $on) (i32.const 4)) (then
                (v128.store offset=0 (local.get $o) (local.get $a10)))
                (else
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 0)))
                  (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $a10)))
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 1)))
                  (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $a10)))
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 2)))
                  (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $a10)))
                  (br $stored1)))
              (if (i32.ge_u (local.get $on) (i32.const 8)) (then
                (v128.store offset=16 (local.get $o) (local.get $a11)))
                (else
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 4)))
                  (f32.store offset=16 (local.get $o) (f32x4.extract_lane 0 (local.get $a11)))
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 5)))
                  (f32.store offset=20 (local.get $o) (f32x4.extract_lane 1 (local.get $a11)))
                  (br_if $stored1 (i32.le_u (local.get $on) (i32.const 6)))
                  (f32.store offset=24 (local.get $o) (f32x4.extract_lane 2 (local.get $a11)))
                  (br $stored1)))
            )
          (local.set $o (i32.add (local.get $o) (local.get $outCol)))
            (block $stored2
              (if (i32.ge_u (local.get $on) (i32.const 4)) (then
                (v128.store offset=0 (local.get $o) (local.get $a20)))
                (else
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 0)))
                  (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $a20)))
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 1)))
                  (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $a20)))
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 2)))
                  (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $a20)))
                  (br $stored2)))
              (if (i32.ge_u (local.get $on) (i32.const 8)) (then
                (v128.store offset=16 (local.get $o) (local.get $a21)))
                (else
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 4)))
                  (f32.store offset=16 (local.get $o) (f32x4.extract_lane 0 (local.get $a21)))
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 5)))
                  (f32.store offset=20 (local.get $o) (f32x4.extract_lane 1 (local.get $a21)))
                  (br_if $stored2 (i32.le_u (local.get $on) (i32.const 6)))
                  (f32.store offset=24 (local.get $o) (f32x4.extract_lane 2 (local.get $a21)))
                  (br $stored2)))
            )
          (local.set $o (i32.add (local.get $o) (local.get $outCol)))
            (block $stored3
              (if (i32.ge_u (local.get $on) (i32.const 4)) (then
                (v128.store offset=0 (local.get $o) (local.get $a30)))
                (else
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 0)))
                  (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $a30)))
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 1)))
                  (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $a30)))
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 2)))
                  (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $a30)))
                  (br $stored3)))
              (if (i32.ge_u (local.get $on) (i32.const 8)) (then
                (v128.store offset=16 (local.get $o) (local.get $a31)))
                (else
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 4)))
                  (f32.store offset=16 (local.get $o) (f32x4.extract_lane 0 (local.get $a31)))
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 5)))
                  (f32.store offset=20 (local.get $o) (f32x4.extract_lane 1 (local.get $a31)))
                  (br_if $stored3 (i32.le_u (local.get $on) (i32.const 6)))
                  (f32.store offset=24 (local.get $o) (f32x4.extract_lane 2 (local.get $a31)))
                  (br $stored3)))
            )
          (local.set $out (i32.add (local.get $o) (local.get $outCol)))
          (local.set $px (i32.add (local.get $px) (i32.shl (local.get $xCol) (i32.const 2))))
          (local.set $q (i32.sub (local.get $q) (i32.const 4)))
          (br $quads)))
        (block $colsDone (loop $cols
          (br_if $colsDone (i32.eqz (local.get $q)))
          (local.set $a00 (v128.const i32x4 0 0 0 0))
          (local.set $a01 (v128.const i32x4 0 0 0 0))
          (local.set $w (local.get $wt))
          (local.set $src (local.get $px))
          (local.set $kh (local.get $fh))
          (loop $khs1
            (local.set $k (local.get $src))
            (local.set $kw (local.get $fw))
            (loop $kws1
              (local.set $s (v128.load32_splat (local.get $k)))
              (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $w)))))
              (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $w)))))
              (local.set $w (i32.add (local.get $w) (i32.const 32)))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br_if $kws1 (local.tee $kw (i32.sub (local.get $kw) (i32.const 1)))))
            (local.set $src (i32.add (local.get $src) (local.get $xKh)))
            (br_if $khs1 (local.tee $kh (i32.sub (local.get $kh) (i32.const 1)))))
          (local.set $o (local.get $out))
            (block $storedOne
              (if (i32.ge_u (local.get $on) (i32.const 4)) (then
                (v128.store offset=0 (local.get $o) (local.get $a00)))
                (else
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 0)))
                  (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $a00)))
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 1)))
                  (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $a00)))
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 2)))
                  (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $a00)))
                  (br $storedOne)))
              (if (i32.ge_u (local.get $on) (i32.const 8)) (then
                (v128.store offset=16 (local.get $o) (local.get $a01)))
                (else
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 4)))
                  (f32.store offset=16 (local.get $o) (f32x4.extract_lane 0 (local.get $a01)))
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 5)))
                  (f32.store offset=20 (local.get $o) (f32x4.extract_lane 1 (local.get $a01)))
                  (br_if $storedOne (i32.le_u (local.get $on) (i32.const 6)))
                  (f32.store offset=24 (local.get $o) (f32x4.extract_lane 2 (local.get $a01)))
                  (br $storedOne)))
            )
          (local.set $out (i32.add (local.get $out) (local.get $outCol)))
          (local.set $px (i32.add (local.get $px) (local.get $xCol)))
          (local.set $q (i32.sub (local.get $q) (i32.const 1)))
          (br $cols)))
        (local.set $row (i32.add (local.get $row) (local.get $xRow)))
        (local.set $orow (i32.add (local.get $orow) (local.get $outRow)))
        (br_if $rows (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
      (local.set $img (i32.add (local.get $img) (local.get $xImg)))
      (local.set $oimg (i32.add (local.get $oimg) (local.get $outImg)))
      (br_if $images (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  )
)
