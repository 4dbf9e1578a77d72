;; The fused prox maps in WebAssembly SIMD (f32x4), over the tfjs wasm
;; backend's own heap (the imported memory). Each function maps `n` contiguous
;; float32 weights at byte address `x` to `out` (which may equal `x`) for one
;; group of at most four levels. The interval index of a weight v is the number
;; of thresholds strictly below it; instead of an index, each table entry is
;; picked from the masks `v > t_i` (thresholds ascending, padded with +inf, so
;; the masks are nested and the last true one wins) by telescoping xors:
;; l0 ^ (m0 & (l0^l1)) ^ (m1 & (l1^l2)) ^ (m2 & (l2^l3)) is the same bits as a
;; chain of `v128.bitselect` in two ops a level rather than three (the C % 4
;; tail of the channel lanes, $parqV, keeps the chain). Arithmetic is float32,
;; one rounding per op, in the order the composed tfjs ops use. Four lanes per
;; iteration, then a scalar tail.
;; Assembled by scripts/build-simd.mjs into prox-wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; Loop constants go through $hoisted: V8's optimizing tier (Node 20) otherwise
  ;; recomputes a splat of a parameter, and the ops on such splats, inside the loop
  ;; that uses them (splat, xor, reload of the spilled scalar: a third of the `parq`
  ;; loop); a value read back from a global is computed once, before the loop.
  (global $pin (mut v128) (v128.const i32x4 0 0 0 0))
  (func $hoisted (param $v v128) (result v128)
    (global.set $pin (local.get $v))
    (global.get $pin))

  ;; Nearest level: t0..t2 the midpoints (+inf padded), l0..l3 the levels.
  (func (export "hard") (param $x i32) (param $out i32) (param $n i32)
    (param $t0 f32) (param $t1 f32) (param $t2 f32)
    (param $l0 f32) (param $l1 f32) (param $l2 f32) (param $l3 f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $v v128) (local $s f32)
    (local $T0 v128) (local $T1 v128) (local $T2 v128)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local.set $T0 (call $hoisted (f32x4.splat (local.get $t0))))
    (local.set $T1 (call $hoisted (f32x4.splat (local.get $t1))))
    (local.set $T2 (call $hoisted (f32x4.splat (local.get $t2))))
    (local.set $L0 (call $hoisted (f32x4.splat (local.get $l0))))
    (local.set $L1 (call $hoisted (f32x4.splat (local.get $l1))))
    (local.set $L2 (call $hoisted (f32x4.splat (local.get $l2))))
    (local.set $L3 (call $hoisted (f32x4.splat (local.get $l3))))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $vec
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.xor
            (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
            (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
              (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select (local.get $l3)
            (select (local.get $l2)
              (select (local.get $l1) (local.get $l0)
                (f32.gt (local.get $s) (local.get $t0)))
              (f32.gt (local.get $s) (local.get $t1)))
            (f32.gt (local.get $s) (local.get $t2))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; BinaryRelax: keep * v + take * nearest (keep = 1 - theta, take = theta).
  (func (export "relax") (param $x i32) (param $out i32) (param $n i32)
    (param $keep f32) (param $take f32)
    (param $t0 f32) (param $t1 f32) (param $t2 f32)
    (param $l0 f32) (param $l1 f32) (param $l2 f32) (param $l3 f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $v v128) (local $s f32)
    (local $K v128) (local $P v128)
    (local $T0 v128) (local $T1 v128) (local $T2 v128)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local.set $K (call $hoisted (f32x4.splat (local.get $keep))))
    (local.set $P (call $hoisted (f32x4.splat (local.get $take))))
    (local.set $T0 (call $hoisted (f32x4.splat (local.get $t0))))
    (local.set $T1 (call $hoisted (f32x4.splat (local.get $t1))))
    (local.set $T2 (call $hoisted (f32x4.splat (local.get $t2))))
    (local.set $L0 (call $hoisted (f32x4.splat (local.get $l0))))
    (local.set $L1 (call $hoisted (f32x4.splat (local.get $l1))))
    (local.set $L2 (call $hoisted (f32x4.splat (local.get $l2))))
    (local.set $L3 (call $hoisted (f32x4.splat (local.get $l3))))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $vec
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.add
            (f32x4.mul (local.get $v) (local.get $K))
            (f32x4.mul (local.get $P)
              (v128.xor
                (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
                (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
                  (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.add
            (f32.mul (local.get $s) (local.get $keep))
            (f32.mul (local.get $take)
              (select (local.get $l3)
                (select (local.get $l2)
                  (select (local.get $l1) (local.get $l0)
                    (f32.gt (local.get $s) (local.get $t0)))
                  (f32.gt (local.get $s) (local.get $t1)))
                (f32.gt (local.get $s) (local.get $t2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; PARQ: min(max(c + (v - c) / s, lo), up), where [lo, up] is the interval of
  ;; v among the levels l0..l3 (the last repeated when fewer), lo = up at the
  ;; ends, c = (lo + up) / 2; t0..t3 are the levels as thresholds (+inf padded).
  ;; A tiny s sends m to +-inf, which the clamp maps to an end; v = c gives c.
  (func (export "parq") (param $x i32) (param $out i32) (param $n i32) (param $slope f32)
    (param $t0 f32) (param $t1 f32) (param $t2 f32) (param $t3 f32)
    (param $l0 f32) (param $l1 f32) (param $l2 f32) (param $l3 f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $v v128) (local $S v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $lo v128) (local $up v128) (local $c v128) (local $H v128)
    (local $T0 v128) (local $T1 v128) (local $T2 v128) (local $T3 v128)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local $s f32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $los f32) (local $ups f32) (local $cs f32)
    (local.set $S (call $hoisted (f32x4.splat (local.get $slope))))
    (local.set $H (call $hoisted (f32x4.splat (f32.const 0.5))))
    (local.set $T0 (call $hoisted (f32x4.splat (local.get $t0))))
    (local.set $T1 (call $hoisted (f32x4.splat (local.get $t1))))
    (local.set $T2 (call $hoisted (f32x4.splat (local.get $t2))))
    (local.set $T3 (call $hoisted (f32x4.splat (local.get $t3))))
    (local.set $L0 (call $hoisted (f32x4.splat (local.get $l0))))
    (local.set $L1 (call $hoisted (f32x4.splat (local.get $l1))))
    (local.set $L2 (call $hoisted (f32x4.splat (local.get $l2))))
    (local.set $L3 (call $hoisted (f32x4.splat (local.get $l3))))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $vec
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $m0 (f32x4.gt (local.get $v) (local.get $T0)))
        (local.set $m1 (f32x4.gt (local.get $v) (local.get $T1)))
        (local.set $m2 (f32x4.gt (local.get $v) (local.get $T2)))
        (local.set $m3 (f32x4.gt (local.get $v) (local.get $T3)))
        ;; up: the first level >= v (l_j for j levels below v), lo: the one before; the
        ;; chains start from T0, which is l0 (the first threshold is the first level): one
        ;; constant fewer in the loop, one reload of a spilled one fewer (~7% alone on an EPYC)
        (local.set $up
          (v128.xor
            (v128.xor (local.get $T0) (v128.and (local.get $m0) (local.get $D01)))
            (v128.xor (v128.and (local.get $m1) (local.get $D12))
              (v128.and (local.get $m2) (local.get $D23)))))
        (local.set $lo
          (v128.xor
            (v128.xor (local.get $T0) (v128.and (local.get $m1) (local.get $D01)))
            (v128.xor (v128.and (local.get $m2) (local.get $D12))
              (v128.and (local.get $m3) (local.get $D23)))))
        (local.set $c (f32x4.mul (f32x4.add (local.get $lo) (local.get $up)) (local.get $H)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.add (local.get $c)
                (f32x4.div (f32x4.sub (local.get $v) (local.get $c)) (local.get $S)))
              (local.get $lo))
            (local.get $up)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $i))))
        (local.set $b0 (f32.gt (local.get $s) (local.get $t0)))
        (local.set $b1 (f32.gt (local.get $s) (local.get $t1)))
        (local.set $b2 (f32.gt (local.get $s) (local.get $t2)))
        (local.set $b3 (f32.gt (local.get $s) (local.get $t3)))
        (local.set $ups
          (select (local.get $l3)
            (select (local.get $l2)
              (select (local.get $l1) (local.get $l0) (local.get $b0))
              (local.get $b1))
            (local.get $b2)))
        (local.set $los
          (select (local.get $l3)
            (select (local.get $l2)
              (select (local.get $l1) (local.get $l0) (local.get $b1))
              (local.get $b2))
            (local.get $b3)))
        (local.set $cs (f32.mul (f32.add (local.get $los) (local.get $ups)) (f32.const 0.5)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.min
            (f32.max
              (f32.add (local.get $cs)
                (f32.div (f32.sub (local.get $s) (local.get $cs)) (local.get $slope)))
              (local.get $los))
            (local.get $ups)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))
;; ---------------------------------------------------------------------------
;; Channel lanes: per-channel groups of a view [A, M, C] with C > 1 (tfjs
;; kernels [in, out], channel = last axis): element (a, m, c) at (a*M + m)*C + c,
;; level j of (a, c) at (a*k + j)*C + c. One lane per channel: for each block of
;; four consecutive channels the levels are four contiguous floats per j, kept
;; in registers while the loop walks m with stride C. The last C % 4 channels
;; take the same ops on splats (one channel, lane 0 stored), so every channel
;; gets the same float32 ops in the same order as the contiguous functions.

  ;; Four channels' entries at $p (wide), or one channel's splat.
  (func $ld (param $p i32) (param $wide i32) (result v128)
    (if (result v128) (local.get $wide)
      (then (v128.load (local.get $p)))
      (else (v128.load32_splat (local.get $p)))))

  ;; Levels 0..3 (rows $row bytes apart), the last repeated past k.
  (func $levels (param $p i32) (param $row i32) (param $k i32) (param $wide i32)
    (result v128 v128 v128 v128)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local.set $L0 (call $ld (local.get $p) (local.get $wide)))
    (local.set $L1 (local.get $L0))
    (if (i32.gt_u (local.get $k) (i32.const 1))
      (then (local.set $L1
        (call $ld (i32.add (local.get $p) (local.get $row)) (local.get $wide)))))
    (local.set $L2 (local.get $L1))
    (if (i32.gt_u (local.get $k) (i32.const 2))
      (then (local.set $L2
        (call $ld (i32.add (local.get $p) (i32.shl (local.get $row) (i32.const 1)))
          (local.get $wide)))))
    (local.set $L3 (local.get $L2))
    (if (i32.gt_u (local.get $k) (i32.const 3))
      (then (local.set $L3
        (call $ld (i32.add (local.get $p) (i32.mul (local.get $row) (i32.const 3)))
          (local.get $wide)))))
    (local.get $L0) (local.get $L1) (local.get $L2) (local.get $L3))

  ;; Threshold t for hard/relax: the midpoint (a + b) / 2 while t + 1 < k, else +inf.
  (func $mid (param $a v128) (param $b v128) (param $t i32) (param $k i32) (result v128)
    (if (result v128) (i32.lt_u (i32.add (local.get $t) (i32.const 1)) (local.get $k))
      (then (f32x4.mul (f32x4.add (local.get $a) (local.get $b)) (f32x4.splat (f32.const 0.5))))
      (else (f32x4.splat (f32.const inf)))))

  ;; Threshold t for parq: level t while t < k, else +inf.
  (func $th (param $a v128) (param $t i32) (param $k i32) (result v128)
    (if (result v128) (i32.lt_u (local.get $t) (local.get $k))
      (then (local.get $a))
      (else (f32x4.splat (f32.const inf)))))

  ;; Nearest level over M rows from $x (stride $row bytes) to $out.
  (func $hardCols (param $x i32) (param $out i32) (param $M i32) (param $row i32)
    (param $wide i32) (param $k i32)
    (param $L0 v128) (param $L1 v128) (param $L2 v128) (param $L3 v128)
    (local $T0 v128) (local $T1 v128) (local $T2 v128) (local $v v128)
    (local $end i32) (local $d i32)
    (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local.set $T0 (call $mid (local.get $L0) (local.get $L1) (i32.const 0) (local.get $k)))
    (local.set $T1 (call $mid (local.get $L1) (local.get $L2) (i32.const 1) (local.get $k)))
    (local.set $T2 (call $mid (local.get $L2) (local.get $L3) (i32.const 2) (local.get $k)))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $M) (local.get $row))))
    (local.set $d (i32.sub (local.get $out) (local.get $x)))
    (if (local.get $wide)
      (then
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          (local.set $v (v128.load (local.get $x)))
          (v128.store (i32.add (local.get $x) (local.get $d))
            (v128.xor
              (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
              (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
                (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))
      (else
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          (local.set $v (v128.load32_splat (local.get $x)))
          (v128.store32_lane 0 (i32.add (local.get $x) (local.get $d))
            (v128.xor
              (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
              (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
                (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))))

  ;; BinaryRelax: keep * v + take * nearest.
  (func $relaxCols (param $x i32) (param $out i32) (param $M i32) (param $row i32)
    (param $wide i32) (param $k i32)
    (param $L0 v128) (param $L1 v128) (param $L2 v128) (param $L3 v128)
    (param $keep f32) (param $take f32)
    (local $T0 v128) (local $T1 v128) (local $T2 v128) (local $v v128)
    (local $K v128) (local $P v128) (local $end i32) (local $d i32)
    (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local.set $K (f32x4.splat (local.get $keep)))
    (local.set $P (f32x4.splat (local.get $take)))
    (local.set $T0 (call $mid (local.get $L0) (local.get $L1) (i32.const 0) (local.get $k)))
    (local.set $T1 (call $mid (local.get $L1) (local.get $L2) (i32.const 1) (local.get $k)))
    (local.set $T2 (call $mid (local.get $L2) (local.get $L3) (i32.const 2) (local.get $k)))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $M) (local.get $row))))
    (local.set $d (i32.sub (local.get $out) (local.get $x)))
    (if (local.get $wide)
      (then
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          (local.set $v (v128.load (local.get $x)))
          (v128.store (i32.add (local.get $x) (local.get $d))
            (f32x4.add
              (f32x4.mul (local.get $v) (local.get $K))
              (f32x4.mul (local.get $P)
                (v128.xor
                  (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
                  (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
                    (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))
      (else
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          (local.set $v (v128.load32_splat (local.get $x)))
          (v128.store32_lane 0 (i32.add (local.get $x) (local.get $d))
            (f32x4.add
              (f32x4.mul (local.get $v) (local.get $K))
              (f32x4.mul (local.get $P)
                (v128.xor
                  (v128.xor (local.get $L0) (v128.and (f32x4.gt (local.get $v) (local.get $T0)) (local.get $D01)))
                  (v128.xor (v128.and (f32x4.gt (local.get $v) (local.get $T1)) (local.get $D12))
                    (v128.and (f32x4.gt (local.get $v) (local.get $T2)) (local.get $D23)))))))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))))

  ;; PARQ: the contiguous `parq` vector body as a function of v (for the C % 4 tail).
  (func $parqV (param $v v128) (param $S v128)
    (param $T0 v128) (param $T1 v128) (param $T2 v128) (param $T3 v128)
    (param $L0 v128) (param $L1 v128) (param $L2 v128) (param $L3 v128)
    (result v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $lo v128) (local $up v128) (local $c v128)
    (local.set $m0 (f32x4.gt (local.get $v) (local.get $T0)))
    (local.set $m1 (f32x4.gt (local.get $v) (local.get $T1)))
    (local.set $m2 (f32x4.gt (local.get $v) (local.get $T2)))
    (local.set $m3 (f32x4.gt (local.get $v) (local.get $T3)))
    (local.set $up
      (v128.bitselect (local.get $L3)
        (v128.bitselect (local.get $L2)
          (v128.bitselect (local.get $L1) (local.get $L0) (local.get $m0))
          (local.get $m1))
        (local.get $m2)))
    (local.set $lo
      (v128.bitselect (local.get $L3)
        (v128.bitselect (local.get $L2)
          (v128.bitselect (local.get $L1) (local.get $L0) (local.get $m1))
          (local.get $m2))
        (local.get $m3)))
    (local.set $c (f32x4.mul (f32x4.add (local.get $lo) (local.get $up))
      (f32x4.splat (f32.const 0.5))))
    (f32x4.pmin
      (f32x4.pmax
        (f32x4.add (local.get $c)
          (f32x4.div (f32x4.sub (local.get $v) (local.get $c)) (local.get $S)))
        (local.get $lo))
      (local.get $up)))

  ;; PARQ over M rows; thresholds are the levels (+inf past k).
  (func $parqCols (param $x i32) (param $out i32) (param $M i32) (param $row i32)
    (param $wide i32) (param $k i32)
    (param $L0 v128) (param $L1 v128) (param $L2 v128) (param $L3 v128)
    (param $slope f32)
    (local $T0 v128) (local $T1 v128) (local $T2 v128) (local $T3 v128) (local $S v128)
    (local $end i32) (local $d i32) (local $v v128) (local $H v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $lo v128) (local $up v128) (local $c v128) (local $D01 v128) (local $D12 v128) (local $D23 v128)
    (local.set $S (f32x4.splat (local.get $slope)))
    (local.set $H (f32x4.splat (f32.const 0.5)))
    (local.set $T0 (call $th (local.get $L0) (i32.const 0) (local.get $k)))
    (local.set $T1 (call $th (local.get $L1) (i32.const 1) (local.get $k)))
    (local.set $T2 (call $th (local.get $L2) (i32.const 2) (local.get $k)))
    (local.set $T3 (call $th (local.get $L3) (i32.const 3) (local.get $k)))
    (local.set $D01 (call $hoisted (v128.xor (local.get $L0) (local.get $L1))))
    (local.set $D12 (call $hoisted (v128.xor (local.get $L1) (local.get $L2))))
    (local.set $D23 (call $hoisted (v128.xor (local.get $L2) (local.get $L3))))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $M) (local.get $row))))
    (local.set $d (i32.sub (local.get $out) (local.get $x)))
    (if (local.get $wide)
      (then
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          ;; $parqV inlined (V8 does not inline wasm calls here)
          (local.set $v (v128.load (local.get $x)))
          (local.set $m0 (f32x4.gt (local.get $v) (local.get $T0)))
          (local.set $m1 (f32x4.gt (local.get $v) (local.get $T1)))
          (local.set $m2 (f32x4.gt (local.get $v) (local.get $T2)))
          (local.set $m3 (f32x4.gt (local.get $v) (local.get $T3)))
          (local.set $up
            (v128.xor
              (v128.xor (local.get $L0) (v128.and (local.get $m0) (local.get $D01)))
              (v128.xor (v128.and (local.get $m1) (local.get $D12))
                (v128.and (local.get $m2) (local.get $D23)))))
          (local.set $lo
            (v128.xor
              (v128.xor (local.get $L0) (v128.and (local.get $m1) (local.get $D01)))
              (v128.xor (v128.and (local.get $m2) (local.get $D12))
                (v128.and (local.get $m3) (local.get $D23)))))
          (local.set $c (f32x4.mul (f32x4.add (local.get $lo) (local.get $up)) (local.get $H)))
          (v128.store (i32.add (local.get $x) (local.get $d))
            (f32x4.pmin
              (f32x4.pmax
                (f32x4.add (local.get $c)
                  (f32x4.div (f32x4.sub (local.get $v) (local.get $c)) (local.get $S)))
                (local.get $lo))
              (local.get $up)))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))
      (else
        (block $done (loop $m
          (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
          (v128.store32_lane 0 (i32.add (local.get $x) (local.get $d))
            (call $parqV (v128.load32_splat (local.get $x)) (local.get $S)
              (local.get $T0) (local.get $T1) (local.get $T2) (local.get $T3)
              (local.get $L0) (local.get $L1) (local.get $L2) (local.get $L3)))
          (local.set $x (i32.add (local.get $x) (local.get $row)))
          (br $m))))))

  ;; The map over a whole view [A, M, C] at $x to $out, levels [A, k, C] at
  ;; $lev (k <= 4): mode 0 hard, 1 PARQ ($p: inverse slope), 2 BinaryRelax
  ;; ($p: keep = 1 - theta, $q: take = theta).
  (func (export "lanes") (param $mode i32) (param $x i32) (param $out i32)
    (param $A i32) (param $M i32) (param $C i32) (param $lev i32) (param $k i32)
    (param $p f32) (param $q f32)
    (local $a i32) (local $c i32) (local $row i32) (local $wide i32) (local $off i32)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (block $doneA (loop $blocks
      (br_if $doneA (i32.ge_u (local.get $a) (local.get $A)))
      (local.set $c (i32.const 0))
      (block $doneC (loop $channels
        (br_if $doneC (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $wide (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (call $levels (i32.add (local.get $lev) (local.get $off)) (local.get $row)
          (local.get $k) (local.get $wide))
        (local.set $L3) (local.set $L2) (local.set $L1) (local.set $L0)
        (if (i32.eqz (local.get $mode))
          (then (call $hardCols
            (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $out) (local.get $off))
            (local.get $M) (local.get $row) (local.get $wide) (local.get $k)
            (local.get $L0) (local.get $L1) (local.get $L2) (local.get $L3)))
          (else (if (i32.eq (local.get $mode) (i32.const 2))
            (then (call $relaxCols
              (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $out) (local.get $off))
              (local.get $M) (local.get $row) (local.get $wide) (local.get $k)
              (local.get $L0) (local.get $L1) (local.get $L2) (local.get $L3)
              (local.get $p) (local.get $q)))
            (else (call $parqCols
              (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $out) (local.get $off))
              (local.get $M) (local.get $row) (local.get $wide) (local.get $k)
              (local.get $L0) (local.get $L1) (local.get $L2) (local.get $L3)
              (local.get $p))))))
        (local.set $c (i32.add (local.get $c) (select (i32.const 4) (i32.const 1) (local.get $wide))))
        (br $channels)))
      ;; next block: M rows of x and out, k rows of levels
      (local.set $x (i32.add (local.get $x) (i32.mul (local.get $M) (local.get $row))))
      (local.set $out (i32.add (local.get $out) (i32.mul (local.get $M) (local.get $row))))
      (local.set $lev (i32.add (local.get $lev) (i32.mul (local.get $k) (local.get $row))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $blocks))))

;; ---------------------------------------------------------------------------
;; The base optimizer's update that a fused QAT step runs before its map
;; (src/optim/fused-step.ts), as tfjs's SGD and Momentum optimizers compute it,
;; the same float32 ops in the same order: kind 0 SGD x' = c*g + x; kind 1
;; momentum a' = m*a + g, x' = c*a' + x; kind 2 Nesterov a' as momentum,
;; x' = c*(g + a'*m) + x (c = -lr). `n` weights at byte addresses g, a, x, to
;; aOut and xOut (SGD leaves aOut alone).
  (func (export "momentum") (param $kind i32) (param $g i32) (param $a i32) (param $x i32)
    (param $aOut i32) (param $xOut i32) (param $n i32) (param $m f32) (param $c f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $M v128) (local $C v128)
    (local $na v128) (local $gv v128) (local $s f32) (local $gs f32)
    (local.set $M (call $hoisted (f32x4.splat (local.get $m))))
    (local.set $C (call $hoisted (f32x4.splat (local.get $c))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (if (i32.eqz (local.get $kind))
      (then
        (block $doneS (loop $sgd
          (br_if $doneS (i32.ge_u (local.get $i) (local.get $end4)))
          (v128.store (i32.add (local.get $xOut) (local.get $i))
            (f32x4.add
              (f32x4.mul (local.get $C) (v128.load (i32.add (local.get $g) (local.get $i))))
              (v128.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $sgd)))
        (block $doneT (loop $sgdTail
          (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
          (f32.store (i32.add (local.get $xOut) (local.get $i))
            (f32.add
              (f32.mul (local.get $c) (f32.load (i32.add (local.get $g) (local.get $i))))
              (f32.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $sgdTail)))
        (return)))
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then
        (block $doneM (loop $mom
          (br_if $doneM (i32.ge_u (local.get $i) (local.get $end4)))
          (local.set $na
            (f32x4.add
              (f32x4.mul (local.get $M) (v128.load (i32.add (local.get $a) (local.get $i))))
              (v128.load (i32.add (local.get $g) (local.get $i)))))
          (v128.store (i32.add (local.get $aOut) (local.get $i)) (local.get $na))
          (v128.store (i32.add (local.get $xOut) (local.get $i))
            (f32x4.add (f32x4.mul (local.get $C) (local.get $na))
              (v128.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $mom))))
      (else
        (block $doneN (loop $nes
          (br_if $doneN (i32.ge_u (local.get $i) (local.get $end4)))
          (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
          (local.set $na
            (f32x4.add
              (f32x4.mul (local.get $M) (v128.load (i32.add (local.get $a) (local.get $i))))
              (local.get $gv)))
          (v128.store (i32.add (local.get $aOut) (local.get $i)) (local.get $na))
          (v128.store (i32.add (local.get $xOut) (local.get $i))
            (f32x4.add
              (f32x4.mul (local.get $C)
                (f32x4.add (local.get $gv) (f32x4.mul (local.get $na) (local.get $M))))
              (v128.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $nes)))))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $s
        (f32.add (f32.mul (local.get $m) (f32.load (i32.add (local.get $a) (local.get $i))))
          (local.get $gs)))
      (f32.store (i32.add (local.get $aOut) (local.get $i)) (local.get $s))
      (f32.store (i32.add (local.get $xOut) (local.get $i))
        (f32.add
          (f32.mul (local.get $c)
            (select
              (f32.add (local.get $gs) (f32.mul (local.get $s) (local.get $m)))
              (local.get $s)
              (i32.eq (local.get $kind) (i32.const 2))))
          (f32.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

;; tfjs's Adam before a map, likewise op for op: m' = m*b1 + g*ob1 (ob1 = 1 - beta1,
;; rounded as tfjs rounds it), v' = v*b2 + (g*g)*ob2, x' = ((m'/s1) / (sqrt(v'/s2) + eps))
;; * nlr + x, with s1 = 1 - beta1^t and s2 = 1 - beta2^t as the optimizer computed them
;; before this step, nlr = -lr.
  (func (export "adam") (param $g i32) (param $m i32) (param $v i32) (param $x i32)
    (param $mOut i32) (param $vOut i32) (param $xOut i32) (param $n i32)
    (param $b1 f32) (param $ob1 f32) (param $b2 f32) (param $ob2 f32)
    (param $s1 f32) (param $s2 f32) (param $eps f32) (param $nlr f32)
    (local $i i32) (local $end4 i32) (local $end i32)
    (local $B1 v128) (local $OB1 v128) (local $B2 v128) (local $OB2 v128)
    (local $S1 v128) (local $S2 v128) (local $E v128) (local $NLR v128)
    (local $gv v128) (local $nm v128) (local $nv v128)
    (local $gs f32) (local $nms f32) (local $nvs f32)
    (local.set $B1 (call $hoisted (f32x4.splat (local.get $b1))))
    (local.set $OB1 (call $hoisted (f32x4.splat (local.get $ob1))))
    (local.set $B2 (call $hoisted (f32x4.splat (local.get $b2))))
    (local.set $OB2 (call $hoisted (f32x4.splat (local.get $ob2))))
    (local.set $S1 (call $hoisted (f32x4.splat (local.get $s1))))
    (local.set $S2 (call $hoisted (f32x4.splat (local.get $s2))))
    (local.set $E (call $hoisted (f32x4.splat (local.get $eps))))
    (local.set $NLR (call $hoisted (f32x4.splat (local.get $nlr))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $vec
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $nm
        (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
          (f32x4.mul (local.get $gv) (local.get $OB1))))
      (local.set $nv
        (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $OB2))))
      (v128.store (i32.add (local.get $mOut) (local.get $i)) (local.get $nm))
      (v128.store (i32.add (local.get $vOut) (local.get $i)) (local.get $nv))
      (v128.store (i32.add (local.get $xOut) (local.get $i))
        (f32x4.add
          (f32x4.mul
            (f32x4.div
              (f32x4.div (local.get $nm) (local.get $S1))
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $nv) (local.get $S2))) (local.get $E)))
            (local.get $NLR))
          (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $vec)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $nms
        (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
          (f32.mul (local.get $gs) (local.get $ob1))))
      (local.set $nvs
        (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $ob2))))
      (f32.store (i32.add (local.get $mOut) (local.get $i)) (local.get $nms))
      (f32.store (i32.add (local.get $vOut) (local.get $i)) (local.get $nvs))
      (f32.store (i32.add (local.get $xOut) (local.get $i))
        (f32.add
          (f32.mul
            (f32.div
              (f32.div (local.get $nms) (local.get $s1))
              (f32.add (f32.sqrt (f32.div (local.get $nvs) (local.get $s2))) (local.get $eps)))
            (local.get $nlr))
          (f32.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

;; ADMM-Q's gradient before the update, as its composed ops: out = (g + lam) + (x - z)*rho.
  (func (export "augment") (param $g i32) (param $lam i32) (param $x i32) (param $z i32)
    (param $out i32) (param $n i32) (param $rho f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $R v128)
    (local.set $R (call $hoisted (f32x4.splat (local.get $rho))))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $vec
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (v128.store (i32.add (local.get $out) (local.get $i))
        (f32x4.add
          (f32x4.add (v128.load (i32.add (local.get $g) (local.get $i)))
            (v128.load (i32.add (local.get $lam) (local.get $i))))
          (f32x4.mul
            (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i)))
              (v128.load (i32.add (local.get $z) (local.get $i))))
            (local.get $R))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $vec)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (i32.add (local.get $out) (local.get $i))
        (f32.add
          (f32.add (f32.load (i32.add (local.get $g) (local.get $i)))
            (f32.load (i32.add (local.get $lam) (local.get $i))))
          (f32.mul
            (f32.sub (f32.load (i32.add (local.get $x) (local.get $i)))
              (f32.load (i32.add (local.get $z) (local.get $i))))
            (local.get $rho))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))
)
