//! The compiled WSDL model: operations, bindings and the XSD type graph, addressed by index.
//!
//! The loader (`loader.rs`, `xsd.rs`) builds it once per snapshot; typed conversion, request
//! validation, body rendering, `import` and `openapi` only read it.

use crate::soap::SoapVersion;
use std::collections::HashMap;

/// A map from local names with foldhash's fast hasher.
pub type NameIndex = HashMap<String, usize, foldhash::fast::RandomState>;

/// Index of an [`ElementDecl`] in [`Schema::elements`].
pub type ElementId = usize;
/// Index of a [`TypeDef`] in [`Schema::types`].
pub type TypeId = usize;

/// A namespace-qualified name; `ns` is empty for unqualified (no-namespace) names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct QName {
    pub ns: String,
    pub local: String,
}

impl QName {
    pub fn new(ns: impl Into<String>, local: impl Into<String>) -> QName {
        QName {
            ns: ns.into(),
            local: local.into(),
        }
    }
}

/// How a value looks in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Integer,
    Number,
    /// Decimal text kept as a JSON string unless configured otherwise (no precision loss).
    Decimal,
    Boolean,
}

/// XSD built-in simple types, grouped by how they map to JSON and how they are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    String,
    /// normalizedString, token, language, Name, NCName, ID, IDREF, ENTITY, NMTOKEN (validated as strings).
    Token,
    Boolean,
    /// integer family with inclusive bounds (`integer` is unbounded: `None`).
    Integer {
        min: Option<i128>,
        max: Option<i128>,
    },
    Decimal,
    Float,
    Double,
    Date,
    DateTime,
    Time,
    Duration,
    /// gYear, gYearMonth, gMonth, gMonthDay, gDay.
    Gregorian,
    Base64Binary,
    HexBinary,
    AnyUri,
    QName,
    /// anySimpleType: any text.
    AnySimpleType,
    /// anyType: any content (converted with the schema-less convention).
    AnyType,
}

impl Builtin {
    /// The XML Schema name of this built-in (the narrowest integer type its bounds fit); `None`
    /// for the gregorian family and the untyped ones, whose name depends on the value.
    pub fn xsd_name(self) -> Option<&'static str> {
        Some(match self {
            Builtin::String | Builtin::Token => "string",
            Builtin::Boolean => "boolean",
            Builtin::Integer { min, max } => integer_name(min, max),
            Builtin::Decimal => "decimal",
            Builtin::Float => "float",
            Builtin::Double => "double",
            Builtin::Date => "date",
            Builtin::DateTime => "dateTime",
            Builtin::Time => "time",
            Builtin::Duration => "duration",
            Builtin::Base64Binary => "base64Binary",
            Builtin::HexBinary => "hexBinary",
            Builtin::AnyUri => "anyURI",
            Builtin::QName => "QName",
            Builtin::Gregorian | Builtin::AnySimpleType | Builtin::AnyType => return None,
        })
    }

    /// The JSON kind of this type's values.
    pub fn json_kind(self) -> JsonKind {
        match self {
            Builtin::Boolean => JsonKind::Boolean,
            Builtin::Integer { .. } => JsonKind::Integer,
            Builtin::Float | Builtin::Double => JsonKind::Number,
            Builtin::Decimal => JsonKind::Decimal,
            _ => JsonKind::String,
        }
    }
}

fn integer_name(min: Option<i128>, max: Option<i128>) -> &'static str {
    let within = |lo: i128, hi: i128| min.is_some_and(|m| m >= lo) && max.is_some_and(|m| m <= hi);
    let unsigned = min.is_some_and(|m| m >= 0);
    match () {
        _ if unsigned && within(0, u8::MAX.into()) => "unsignedByte",
        _ if within(i8::MIN.into(), i8::MAX.into()) => "byte",
        _ if unsigned && within(0, u16::MAX.into()) => "unsignedShort",
        _ if within(i16::MIN.into(), i16::MAX.into()) => "short",
        _ if unsigned && within(0, u32::MAX.into()) => "unsignedInt",
        _ if within(i32::MIN.into(), i32::MAX.into()) => "int",
        _ if unsigned && within(0, u64::MAX.into()) => "unsignedLong",
        _ if within(i64::MIN.into(), i64::MAX.into()) => "long",
        _ => "integer",
    }
}

/// `maxOccurs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxOccurs {
    Bounded(u32),
    Unbounded,
}

impl MaxOccurs {
    /// More than one occurrence allowed: the element is always a JSON array.
    pub fn is_many(self) -> bool {
        !matches!(self, MaxOccurs::Bounded(0 | 1))
    }
}

/// A reference to a type: built-in or compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRef {
    Builtin(Builtin),
    Type(TypeId),
}

/// An element declaration (global or local), with its occurrence where it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementDecl {
    /// Qualified per `form`/`elementFormDefault`: `ns` is empty for unqualified local elements.
    pub name: QName,
    pub ty: TypeRef,
    pub min: u32,
    pub max: MaxOccurs,
    pub nillable: bool,
    pub is_abstract: bool,
    pub default: Option<String>,
    pub fixed: Option<String>,
    /// Global elements that may appear in its place (substitution group members).
    pub substitutes: Vec<ElementId>,
}

/// A compiled type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    Simple(SimpleType),
    Complex(ComplexType),
}

/// A simple type: a built-in base with facets, a list, or a union.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimpleType {
    pub name: Option<QName>,
    /// The built-in at the root of the restriction chain (`AnySimpleType` for unions).
    pub base: Option<Builtin>,
    /// Enumeration facet values (empty: no enumeration).
    pub enumeration: Vec<String>,
    /// `xs:list`: whitespace-separated items of this built-in.
    pub list_of: Option<Builtin>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<String>,
}

/// How a complex type got its content from its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivation {
    None,
    Extension,
    Restriction,
}

/// A complex type. `children`/`attributes` are the effective ones (base content included).
#[derive(Debug, Clone, PartialEq)]
pub struct ComplexType {
    pub name: Option<QName>,
    pub base: Option<TypeId>,
    pub derivation: Derivation,
    pub is_abstract: bool,
    pub mixed: bool,
    pub content: Content,
    /// Effective child elements in document order, base type's first (for rendering and OpenAPI).
    pub children: Vec<Child>,
    /// Local name -> index in `children` (for conversion and validation): looked up once per
    /// response element, so with a fast hasher (the keys come from the WSDL, not from traffic).
    pub child_index: NameIndex,
    pub attributes: Vec<AttributeDecl>,
    /// `xs:any` appears in the content model: unknown children are allowed.
    pub open: bool,
    /// `xs:anyAttribute` appears: unknown attributes are allowed.
    pub any_attribute: bool,
    /// SOAP-ENC array (`soapenc:Array` restriction): items of this type.
    pub soapenc_array_of: Option<TypeRef>,
    /// Types derived from this one (for `xsi:type`), transitively.
    pub derived: Vec<TypeId>,
}

/// The content model of a complex type.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Empty,
    /// `simpleContent`: text of this type, plus attributes.
    Simple(TypeRef),
    /// Element content.
    Elements(Particle),
}

/// A particle of a content model.
#[derive(Debug, Clone, PartialEq)]
pub enum Particle {
    Element(ElementId),
    Sequence {
        items: Vec<Particle>,
        min: u32,
        max: MaxOccurs,
    },
    Choice {
        items: Vec<Particle>,
        min: u32,
        max: MaxOccurs,
    },
    All {
        items: Vec<Particle>,
        min: u32,
        max: MaxOccurs,
    },
    Any {
        namespace: String,
        min: u32,
        max: MaxOccurs,
        /// `processContents` (default `strict`).
        process: ProcessContents,
    },
}

/// `processContents` of a wildcard: how much of what it admits the schema must declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessContents {
    /// Only elements with a global declaration.
    Strict,
    /// Declared elements are checked, others admitted.
    Lax,
    /// Anything, unchecked.
    Skip,
}

/// One possible child element of a complex type, flattened out of its particles.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub element: ElementId,
    /// Repeats: its own maxOccurs > 1 or an enclosing sequence/choice repeats. Always a JSON array.
    pub many: bool,
    /// May be absent: minOccurs = 0 or inside a choice (or an optional group).
    pub optional: bool,
    /// Index of the `choice` it belongs to within this type, if any (one branch at a time).
    pub choice: Option<usize>,
}

/// An attribute declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDecl {
    pub name: QName,
    pub ty: TypeRef,
    pub required: bool,
    pub default: Option<String>,
    pub fixed: Option<String>,
}

/// All schemas of a WSDL, compiled into one graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub elements: Vec<ElementDecl>,
    pub types: Vec<TypeDef>,
    pub global_elements: HashMap<QName, ElementId>,
    pub global_types: HashMap<QName, TypeId>,
}

/// Binding style of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Document,
    Rpc,
}

/// `use` of a message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Literal,
    Encoded,
}

/// One message part.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub kind: PartKind,
}

/// A part names a global element (document) or a type (rpc).
#[derive(Debug, Clone, PartialEq)]
pub enum PartKind {
    Element(ElementId),
    Type(TypeRef),
}

/// The body of an input or output message as it travels.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Document style: the single body part's global element (wrapped or bare). RPC: none.
    pub element: Option<ElementId>,
    /// RPC style: the wrapper element name (operation name, or name + "Response") and its namespace.
    pub rpc_wrapper: Option<QName>,
    /// The body parts in order (document: one part; rpc: one child element per part).
    pub parts: Vec<Part>,
    pub body_use: Use,
    /// `soap:header` parts bound to this message.
    pub headers: Vec<Part>,
}

/// A declared fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultDecl {
    pub name: String,
    /// The detail element (first part's element), when it names one.
    pub element: Option<ElementId>,
}

/// One operation of one binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub name: String,
    pub binding: String,
    pub version: SoapVersion,
    pub style: Style,
    /// soapAction (1.1) or action (1.2); may be empty.
    pub action: String,
    pub input: Option<Message>,
    pub output: Option<Message>,
    pub faults: Vec<FaultDecl>,
    pub documentation: Option<String>,
    /// What could not be mapped, in words (never silently dropped).
    pub unsupported: Vec<String>,
}

/// One port: a binding at an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub service: String,
    pub name: String,
    pub binding: String,
    pub address: String,
    pub version: SoapVersion,
}

/// A loaded WSDL.
#[derive(Debug, Clone, PartialEq)]
pub struct Wsdl {
    pub target_namespace: String,
    pub name: Option<String>,
    pub schema: Schema,
    pub operations: Vec<Operation>,
    pub ports: Vec<Port>,
    /// Problems that do not stop loading (unsupported constructs, unresolved optional imports).
    pub warnings: Vec<String>,
}

impl Wsdl {
    /// Finds an operation by name, preferring the given SOAP version's binding.
    pub fn operation(&self, name: &str, version: Option<SoapVersion>) -> Option<&Operation> {
        let mut matching = self.operations.iter().filter(|o| o.name == name);
        match version {
            Some(v) => self
                .operations
                .iter()
                .find(|o| o.name == name && o.version == v)
                .or_else(|| matching.next()),
            None => matching.next(),
        }
    }
}

impl Schema {
    pub fn element(&self, id: ElementId) -> &ElementDecl {
        &self.elements[id]
    }

    /// The complex type behind a reference, if it is one.
    pub fn complex(&self, t: TypeRef) -> Option<&ComplexType> {
        match t {
            TypeRef::Type(id) => match self.types.get(id) {
                Some(TypeDef::Complex(c)) => Some(c),
                _ => None,
            },
            TypeRef::Builtin(_) => None,
        }
    }

    /// The built-in at the root of a simple type (or simpleContent), if any.
    pub fn builtin_of(&self, t: TypeRef) -> Option<Builtin> {
        match t {
            TypeRef::Builtin(b) => Some(b),
            TypeRef::Type(id) => match self.types.get(id)? {
                TypeDef::Simple(s) if s.list_of.is_some() => Some(Builtin::String),
                TypeDef::Simple(s) => s.base,
                TypeDef::Complex(c) => match &c.content {
                    Content::Simple(inner) if *inner != t => self.builtin_of(*inner),
                    _ => None,
                },
            },
        }
    }
}
