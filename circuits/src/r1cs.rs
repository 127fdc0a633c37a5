//! The constraint-system interface every gadget of this crate writes to, and
//! the linear-combination variable ([`FieldVar`]) the gadgets pass around.
//!
//! One circuit definition serves three back ends through the [`R1cs`] trait:
//! - [`ArkR1cs`], arkworks' own `ConstraintSystem` (tests: `is_satisfied`,
//!   `which_is_unsatisfied`, and cross-checks against ark-groth16);
//! - [`crate::matrices::MatrixBuilder`], the compact constraint matrices built
//!   once at setup and stored with the key (no values);
//! - [`WitnessR1cs`], values only: what the prover runs, with no linear
//!   combination ever built.
//!
//! A back end says whether it wants symbolic linear combinations
//! ([`R1cs::is_symbolic`]) and whether it carries values
//! ([`R1cs::has_values`]); gadgets skip whichever half is not wanted, so the
//! prover's witness pass costs only the native arithmetic.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, One, Zero};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};

/// An allocated variable: the constant one, a public input (1-based, as in
/// arkworks: input 0 is the constant) or a witness (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    /// The constant 1 (column 0 of every matrix).
    One,
    /// Public input number `i` (1-based).
    Input(u32),
    /// Witness number `i` (0-based).
    Witness(u32),
}

impl Var {
    /// The arkworks variable with the same index.
    pub fn to_ark(self) -> Variable {
        match self {
            Var::One => Variable::One,
            Var::Input(i) => Variable::instance(i as usize),
            Var::Witness(i) => Variable::witness(i as usize),
        }
    }
}

/// A linear combination `sum coeff * var` (the constant term on [`Var::One`]).
pub type Lc = Vec<(Fr, Var)>;

/// A field element in the circuit: a linear combination of allocated
/// variables with its value. Either half is empty when the back end does not
/// want it (no `lc` while proving, no `value` at setup).
#[derive(Clone, Debug, Default)]
pub struct FieldVar {
    /// The symbolic form; empty while [`R1cs::is_symbolic`] is false (and
    /// for the constant zero).
    pub lc: Lc,
    /// The value; `None` at setup.
    pub value: Option<Fr>,
    /// `Some(c)` when the combination is known to be the constant `c`, so
    /// gadgets can fold it (an S-box of a constant costs no constraint).
    pub constant: Option<Fr>,
}

impl FieldVar {
    /// The constant `c`.
    pub fn constant(c: Fr) -> Self {
        FieldVar {
            lc: if c.is_zero() {
                Vec::new()
            } else {
                vec![(c, Var::One)]
            },
            value: Some(c),
            constant: Some(c),
        }
    }

    /// The constant zero.
    pub fn zero() -> Self {
        Self::constant(Fr::ZERO)
    }

    /// An allocated variable with its value.
    pub fn from_var(var: Var, value: Option<Fr>) -> Self {
        FieldVar {
            lc: vec![(Fr::ONE, var)],
            value,
            constant: None,
        }
    }

    /// `self + other`.
    pub fn add(&self, other: &FieldVar) -> FieldVar {
        self.add_scaled(other, Fr::ONE)
    }

    /// `self - other`.
    pub fn sub(&self, other: &FieldVar) -> FieldVar {
        self.add_scaled(other, -Fr::ONE)
    }

    /// `self + k * other`.
    pub fn add_scaled(&self, other: &FieldVar, k: Fr) -> FieldVar {
        let mut lc = self.lc.clone();
        lc.extend(other.lc.iter().map(|&(c, v)| (c * k, v)));
        FieldVar {
            lc,
            value: self.value.zip(other.value).map(|(a, b)| a + k * b),
            constant: self.constant.zip(other.constant).map(|(a, b)| a + k * b),
        }
    }

    /// `k * self`.
    pub fn scale(&self, k: Fr) -> FieldVar {
        FieldVar {
            lc: self.lc.iter().map(|&(c, v)| (c * k, v)).collect(),
            value: self.value.map(|a| a * k),
            constant: self.constant.map(|a| a * k),
        }
    }

    /// `self + c`.
    pub fn add_constant(&self, c: Fr) -> FieldVar {
        self.add(&FieldVar::constant(c))
    }

    /// `sum k_i * x_i`.
    pub fn linear_sum<'a>(terms: impl IntoIterator<Item = (Fr, &'a FieldVar)>) -> FieldVar {
        let mut out = FieldVar::zero();
        for (k, x) in terms {
            out.lc.extend(x.lc.iter().map(|&(c, v)| (c * k, v)));
            out.value = out.value.zip(x.value).map(|(a, b)| a + k * b);
            out.constant = out.constant.zip(x.constant).map(|(a, b)| a + k * b);
        }
        out
    }

    /// The value, or [`SynthesisError::AssignmentMissing`].
    ///
    /// # Errors
    /// At setup, where there are no values.
    pub fn get(&self) -> Result<Fr, SynthesisError> {
        self.value.ok_or(SynthesisError::AssignmentMissing)
    }

    /// Merges repeated variables, so a combination that is used in several
    /// constraints stores each variable once.
    pub fn compact(mut self) -> FieldVar {
        compact_lc(&mut self.lc);
        self
    }
}

/// Sorts `lc` by variable and adds up the coefficients of repeated variables.
pub fn compact_lc(lc: &mut Lc) {
    if lc.len() < 2 {
        return;
    }
    lc.sort_unstable_by_key(|&(_, v)| v);
    let mut out: Lc = Vec::with_capacity(lc.len());
    for &(c, v) in lc.iter() {
        match out.last_mut() {
            Some(last) if last.1 == v => last.0 += c,
            _ => out.push((c, v)),
        }
    }
    out.retain(|(c, _)| !c.is_zero());
    *lc = out;
}

/// A rank-1 constraint system back end: allocates variables and records
/// constraints `A * B = C`.
pub trait R1cs {
    /// Whether constraints need their linear combinations (setup, tests).
    fn is_symbolic(&self) -> bool;
    /// Whether variables carry values (proving, tests).
    fn has_values(&self) -> bool;
    /// Allocates the next public input.
    ///
    /// # Errors
    /// [`SynthesisError::AssignmentMissing`] when values are wanted but absent.
    fn new_input(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError>;
    /// Allocates the next witness variable.
    ///
    /// # Errors
    /// [`SynthesisError::AssignmentMissing`] when values are wanted but absent.
    fn new_witness(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError>;
    /// Records `a * b = c`.
    ///
    /// # Errors
    /// Whatever the back end reports.
    fn enforce(&mut self, a: &FieldVar, b: &FieldVar, c: &FieldVar) -> Result<(), SynthesisError>;
    /// The number of constraints so far.
    fn num_constraints(&self) -> usize;

    /// Allocates a witness with value `value` and returns it as a [`FieldVar`].
    ///
    /// # Errors
    /// As [`R1cs::new_witness`].
    fn alloc(&mut self, value: Option<Fr>) -> Result<FieldVar, SynthesisError> {
        let value = if self.has_values() { value } else { None };
        let var = self.new_witness(value)?;
        Ok(FieldVar::from_var(var, value))
    }

    /// Allocates a public input and returns it as a [`FieldVar`].
    ///
    /// # Errors
    /// As [`R1cs::new_input`].
    fn alloc_input(&mut self, value: Option<Fr>) -> Result<FieldVar, SynthesisError> {
        let value = if self.has_values() { value } else { None };
        let var = self.new_input(value)?;
        Ok(FieldVar::from_var(var, value))
    }

    /// `a * b`, allocated (one constraint).
    ///
    /// # Errors
    /// As [`R1cs::enforce`].
    fn mul(&mut self, a: &FieldVar, b: &FieldVar) -> Result<FieldVar, SynthesisError> {
        let product = self.alloc(a.value.zip(b.value).map(|(x, y)| x * y))?;
        // a * b = product
        self.enforce(a, b, &product)?;
        Ok(product)
    }

    /// Enforces `a = b` (one constraint: `(a - b) * 1 = 0`).
    ///
    /// # Errors
    /// As [`R1cs::enforce`].
    fn enforce_equal(&mut self, a: &FieldVar, b: &FieldVar) -> Result<(), SynthesisError> {
        // (a - b) * 1 = 0
        self.enforce(&a.sub(b), &FieldVar::constant(Fr::ONE), &FieldVar::zero())
    }
}

/// arkworks' constraint system as a back end (tests and cross-checks).
pub struct ArkR1cs(pub ConstraintSystemRef<Fr>);

fn to_ark_lc(x: &FieldVar) -> LinearCombination<Fr> {
    LinearCombination(x.lc.iter().map(|&(c, v)| (c, v.to_ark())).collect())
}

impl R1cs for ArkR1cs {
    fn is_symbolic(&self) -> bool {
        self.0.should_construct_matrices()
    }

    fn has_values(&self) -> bool {
        !self.0.is_in_setup_mode()
    }

    fn new_input(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError> {
        let index = self.0.num_instance_variables();
        let _ = self
            .0
            .new_input_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
        Ok(Var::Input(index as u32))
    }

    fn new_witness(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError> {
        let index = self.0.num_witness_variables();
        let _ = self
            .0
            .new_witness_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
        Ok(Var::Witness(index as u32))
    }

    fn enforce(&mut self, a: &FieldVar, b: &FieldVar, c: &FieldVar) -> Result<(), SynthesisError> {
        self.0
            .enforce_r1cs_constraint(|| to_ark_lc(a), || to_ark_lc(b), || to_ark_lc(c))
    }

    fn num_constraints(&self) -> usize {
        self.0.num_constraints()
    }
}

/// The values-only back end the prover runs: it records the assignment and
/// counts constraints, building no linear combination.
#[derive(Debug, Default)]
pub struct WitnessR1cs {
    /// `[1, inputs...]`.
    pub instance: Vec<Fr>,
    /// The witness values in allocation order.
    pub witness: Vec<Fr>,
    /// Constraints seen.
    pub constraints: usize,
}

impl WitnessR1cs {
    /// An empty assignment holding the constant one.
    pub fn new() -> Self {
        WitnessR1cs {
            instance: vec![Fr::one()],
            witness: Vec::new(),
            constraints: 0,
        }
    }

    /// With room for `witnesses` values.
    pub fn with_capacity(witnesses: usize) -> Self {
        let mut w = Self::new();
        w.witness.reserve_exact(witnesses);
        w
    }

    /// The full assignment `[1, inputs..., witness...]`.
    pub fn full_assignment(self) -> Vec<Fr> {
        let mut z = self.instance;
        z.extend(self.witness);
        z
    }
}

impl R1cs for WitnessR1cs {
    fn is_symbolic(&self) -> bool {
        false
    }

    fn has_values(&self) -> bool {
        true
    }

    fn new_input(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError> {
        self.instance
            .push(value.ok_or(SynthesisError::AssignmentMissing)?);
        Ok(Var::Input(self.instance.len() as u32 - 1))
    }

    fn new_witness(&mut self, value: Option<Fr>) -> Result<Var, SynthesisError> {
        self.witness
            .push(value.ok_or(SynthesisError::AssignmentMissing)?);
        Ok(Var::Witness(self.witness.len() as u32 - 1))
    }

    fn enforce(&mut self, _: &FieldVar, _: &FieldVar, _: &FieldVar) -> Result<(), SynthesisError> {
        self.constraints += 1;
        Ok(())
    }

    fn num_constraints(&self) -> usize {
        self.constraints
    }
}

/// Any synthesizer written against [`R1cs`], as an arkworks
/// [`ConstraintSynthesizer`].
pub trait Synthesize {
    /// Generates the constraints (and, where the back end has them, values).
    ///
    /// # Errors
    /// [`SynthesisError`] from the back end or from missing values.
    fn synthesize<R: R1cs>(&self, cs: &mut R) -> Result<(), SynthesisError>;
}

/// Adapter running a [`Synthesize`] inside arkworks.
pub struct ArkCircuit<'a, C>(pub &'a C);

impl<C: Synthesize> ConstraintSynthesizer<Fr> for ArkCircuit<'_, C> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.0.synthesize(&mut ArkR1cs(cs))
    }
}
