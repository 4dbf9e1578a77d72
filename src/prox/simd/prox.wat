;; The fused prox maps in WebAssembly SIMD (f32x4), over the tfjs wasm
;; backend's own heap (the imported memory). Each function maps `n` contiguous
;; float32 weights at byte address `x` to `out` (which may equal `x`) for one
;; group of at most four levels. The interval index of a weight v is the number
;; of thresholds strictly below it; instead of an index, each table entry is
;; picked by successive `v128.bitselect` on the masks `v > t_i` (thresholds
;; ascending, padded with +inf, so the masks are nested and the last true one
;; wins). Arithmetic is float32, one rounding per op, in the order the
;; composed tfjs ops use. Four lanes per iteration, then a scalar tail.
;; Assembled by scripts/build-simd.mjs into prox-wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; Nearest level: t0..t2 the midpoints (+inf padded), l0..l3 the levels.
  (func (export "hard") (param $x i32) (param $out i32) (param $n i32)
    (param $t0 f32) (param $t1 f32) (param $t2 f32)
    (param $l0 f32) (param $l1 f32) (param $l2 f32) (param $l3 f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $v v128) (local $s f32)
    (local $T0 v128) (local $T1 v128) (local $T2 v128)
    (local $L0 v128) (local $L1 v128) (local $L2 v128) (local $L3 v128)
    (local.set $T0 (f32x4.splat (local.get $t0)))
    (local.set $T1 (f32x4.splat (local.get $t1)))
    (local.set $T2 (f32x4.splat (local.get $t2)))
    (local.set $L0 (f32x4.splat (local.get $l0)))
    (local.set $L1 (f32x4.splat (local.get $l1)))
    (local.set $L2 (f32x4.splat (local.get $l2)))
    (local.set $L3 (f32x4.splat (local.get $l3)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $vec
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.bitselect (local.get $L3)
            (v128.bitselect (local.get $L2)
              (v128.bitselect (local.get $L1) (local.get $L0)
                (f32x4.gt (local.get $v) (local.get $T0)))
              (f32x4.gt (local.get $v) (local.get $T1)))
            (f32x4.gt (local.get $v) (local.get $T2))))
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
    (local.set $K (f32x4.splat (local.get $keep)))
    (local.set $P (f32x4.splat (local.get $take)))
    (local.set $T0 (f32x4.splat (local.get $t0)))
    (local.set $T1 (f32x4.splat (local.get $t1)))
    (local.set $T2 (f32x4.splat (local.get $t2)))
    (local.set $L0 (f32x4.splat (local.get $l0)))
    (local.set $L1 (f32x4.splat (local.get $l1)))
    (local.set $L2 (f32x4.splat (local.get $l2)))
    (local.set $L3 (f32x4.splat (local.get $l3)))
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
              (v128.bitselect (local.get $L3)
                (v128.bitselect (local.get $L2)
                  (v128.bitselect (local.get $L1) (local.get $L0)
                    (f32x4.gt (local.get $v) (local.get $T0)))
                  (f32x4.gt (local.get $v) (local.get $T1)))
                (f32x4.gt (local.get $v) (local.get $T2))))))
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
    (local $s f32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $los f32) (local $ups f32) (local $cs f32)
    (local.set $S (f32x4.splat (local.get $slope)))
    (local.set $H (f32x4.splat (f32.const 0.5)))
    (local.set $T0 (f32x4.splat (local.get $t0)))
    (local.set $T1 (f32x4.splat (local.get $t1)))
    (local.set $T2 (f32x4.splat (local.get $t2)))
    (local.set $T3 (f32x4.splat (local.get $t3)))
    (local.set $L0 (f32x4.splat (local.get $l0)))
    (local.set $L1 (f32x4.splat (local.get $l1)))
    (local.set $L2 (f32x4.splat (local.get $l2)))
    (local.set $L3 (f32x4.splat (local.get $l3)))
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
        ;; up: the first level >= v (l_j for j levels below v), lo: the one before
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
        (br $tail)))))
