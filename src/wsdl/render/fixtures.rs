//! Hand-built schemas for the validation and rendering tests.

use crate::wsdl::model::{
    AttributeDecl, Builtin, Child, ComplexType, Content, Derivation, ElementDecl, ElementId, MaxOccurs,
    Message, Part, PartKind, Particle, QName, Schema, SimpleType, TypeDef, TypeId, TypeRef, Use,
};

pub(crate) const T: &str = "urn:t";
pub(crate) const X: &str = "urn:x";
pub(crate) const ONE: MaxOccurs = MaxOccurs::Bounded(1);
pub(crate) const MANY: MaxOccurs = MaxOccurs::Unbounded;

/// A schema under construction.
#[derive(Debug, Default)]
pub(crate) struct Fx {
    pub schema: Schema,
}

pub(crate) fn b(builtin: Builtin) -> TypeRef {
    TypeRef::Builtin(builtin)
}

pub(crate) fn int() -> TypeRef {
    b(Builtin::Integer {
        min: Some(i32::MIN.into()),
        max: Some(i32::MAX.into()),
    })
}

pub(crate) fn string() -> TypeRef {
    b(Builtin::String)
}

pub(crate) fn seq(items: Vec<Particle>) -> Particle {
    Particle::Sequence {
        items,
        min: 1,
        max: ONE,
    }
}

pub(crate) fn choice(items: Vec<Particle>, min: u32, max: MaxOccurs) -> Particle {
    Particle::Choice { items, min, max }
}

pub(crate) fn el(id: ElementId) -> Particle {
    Particle::Element(id)
}

pub(crate) fn attr(ns: &str, local: &str, ty: TypeRef, required: bool) -> AttributeDecl {
    AttributeDecl {
        name: QName::new(ns, local),
        ty,
        required,
        default: None,
        fixed: None,
    }
}

impl Fx {
    /// A local or global element declaration.
    pub fn el(&mut self, ns: &str, local: &str, ty: TypeRef, min: u32, max: MaxOccurs) -> ElementId {
        self.schema.elements.push(ElementDecl {
            name: QName::new(ns, local),
            ty,
            min,
            max,
            nillable: false,
            is_abstract: false,
            default: None,
            fixed: None,
            substitutes: Vec::new(),
        });
        self.schema.elements.len() - 1
    }

    /// A global element.
    pub fn global(&mut self, ns: &str, local: &str, ty: TypeRef) -> ElementId {
        let id = self.el(ns, local, ty, 1, ONE);
        self.schema.global_elements.insert(QName::new(ns, local), id);
        id
    }

    pub fn decl(&mut self, id: ElementId) -> &mut ElementDecl {
        &mut self.schema.elements[id]
    }

    pub fn simple(&mut self, st: SimpleType) -> TypeRef {
        self.schema.types.push(TypeDef::Simple(st));
        TypeRef::Type(self.schema.types.len() - 1)
    }

    /// A complex type with element content (or empty content without a particle).
    pub fn complex(
        &mut self,
        name: Option<&str>,
        p: Option<Particle>,
        attributes: Vec<AttributeDecl>,
    ) -> TypeId {
        let mut ct = ComplexType {
            name: name.map(|n| QName::new(T, n)),
            base: None,
            derivation: Derivation::None,
            is_abstract: false,
            mixed: false,
            content: Content::Empty,
            children: Vec::new(),
            child_index: Default::default(),
            attributes,
            open: false,
            any_attribute: false,
            soapenc_array_of: None,
            derived: Vec::new(),
        };
        if let Some(p) = p {
            let mut choices = 0;
            walk(
                &self.schema.elements,
                &p,
                (false, false, None),
                &mut choices,
                &mut ct.children,
            );
            ct.open = has_any(&p);
            ct.content = Content::Elements(p);
        }
        for (i, c) in ct.children.iter().enumerate() {
            let local = self.schema.elements[c.element].name.local.clone();
            ct.child_index.entry(local).or_insert(i);
            for s in &self.schema.elements[c.element].substitutes {
                ct.child_index
                    .entry(self.schema.elements[*s].name.local.clone())
                    .or_insert(i);
            }
        }
        if let Some(n) = &ct.name {
            self.schema
                .global_types
                .insert(n.clone(), self.schema.types.len());
        }
        self.schema.types.push(TypeDef::Complex(ct));
        self.schema.types.len() - 1
    }

    pub fn ct(&mut self, id: TypeId) -> &mut ComplexType {
        match &mut self.schema.types[id] {
            TypeDef::Complex(c) => c,
            TypeDef::Simple(_) => panic!("not complex"),
        }
    }

    /// A document/literal input message.
    pub fn doc(&self, element: ElementId) -> Message {
        Message {
            element: Some(element),
            rpc_wrapper: None,
            parts: vec![Part {
                name: "parameters".into(),
                kind: PartKind::Element(element),
            }],
            body_use: Use::Literal,
            headers: Vec::new(),
        }
    }
}

/// Flattens particles like the loader does: (many, optional, choice) inherited.
fn walk(
    elements: &[ElementDecl],
    p: &Particle,
    at: (bool, bool, Option<usize>),
    choices: &mut usize,
    out: &mut Vec<Child>,
) {
    match p {
        Particle::Element(id) => {
            let e = &elements[*id];
            out.push(Child {
                element: *id,
                many: at.0 || e.max.is_many(),
                optional: at.1 || e.min == 0,
                choice: at.2,
            });
        }
        Particle::Sequence { items, min, max } | Particle::All { items, min, max } => {
            let inner = (at.0 || max.is_many(), at.1 || *min == 0, at.2);
            items.iter().for_each(|i| walk(elements, i, inner, choices, out));
        }
        Particle::Choice { items, min, max } => {
            let inner = (
                at.0 || max.is_many(),
                at.1 || *min == 0 || items.len() > 1,
                Some(*choices),
            );
            *choices += 1;
            items.iter().for_each(|i| walk(elements, i, inner, choices, out));
        }
        Particle::Any { .. } => {}
    }
}

fn has_any(p: &Particle) -> bool {
    match p {
        Particle::Any { .. } => true,
        Particle::Element(_) => false,
        Particle::Sequence { items, .. } | Particle::Choice { items, .. } | Particle::All { items, .. } => {
            items.iter().any(has_any)
        }
    }
}

/// The standard fixture: `t:Order` with lines, a choice, simpleContent, polymorphism, `anyType`,
/// unqualified children and attributes.
///
/// ```text
/// Order(@version:int required, @x:lang optional)
///   t:id int | t:note string? nillable | t:line LineType* | (t:email | t:phone)
///   t:total Price? (simpleContent decimal, @currency required) | t:address Address? (UsAddress derived)
///   meta anyType? (unqualified) | tags string{0,3} (unqualified) | t:color (red|green)?
/// LineType: t:sku [A-Z]{3}\d+ | t:qty 1..100 | t:price decimal?
/// ```
pub(crate) fn order() -> (Schema, Message) {
    let mut fx = Fx::default();
    let sku = fx.simple(SimpleType {
        base: Some(Builtin::String),
        pattern: Some(r"[A-Z]{3}\d+".into()),
        max_length: Some(10),
        ..SimpleType::default()
    });
    let qty = fx.simple(SimpleType {
        base: Some(Builtin::Integer {
            min: Some(1),
            max: Some(100),
        }),
        ..SimpleType::default()
    });
    let color = fx.simple(SimpleType {
        base: Some(Builtin::String),
        enumeration: vec!["red".into(), "green".into()],
        ..SimpleType::default()
    });
    let line_items = vec![
        el(fx.el(T, "sku", sku, 1, ONE)),
        el(fx.el(T, "qty", qty, 1, ONE)),
        el(fx.el(T, "price", b(Builtin::Decimal), 0, ONE)),
    ];
    let line = fx.complex(Some("LineType"), Some(seq(line_items)), vec![]);
    let price = fx.complex(Some("Price"), None, vec![attr("", "currency", string(), true)]);
    fx.ct(price).content = Content::Simple(b(Builtin::Decimal));
    let street = fx.el(T, "street", string(), 1, ONE);
    let address = fx.complex(Some("Address"), Some(seq(vec![el(street)])), vec![]);
    let zip = fx.el(T, "zip", string(), 1, ONE);
    let us = fx.complex(Some("UsAddress"), Some(seq(vec![el(street), el(zip)])), vec![]);
    fx.ct(us).base = Some(address);
    fx.ct(address).derived = vec![us];
    let note = fx.el(T, "note", string(), 0, ONE);
    fx.decl(note).nillable = true;
    let items = vec![
        el(fx.el(T, "id", int(), 1, ONE)),
        el(note),
        el(fx.el(T, "line", TypeRef::Type(line), 0, MANY)),
        choice(
            vec![
                el(fx.el(T, "email", string(), 1, ONE)),
                el(fx.el(T, "phone", string(), 1, ONE)),
            ],
            1,
            ONE,
        ),
        el(fx.el(T, "total", TypeRef::Type(price), 0, ONE)),
        el(fx.el(T, "address", TypeRef::Type(address), 0, ONE)),
        el(fx.el("", "meta", b(Builtin::AnyType), 0, ONE)),
        el(fx.el("", "tags", string(), 0, MaxOccurs::Bounded(3))),
        el(fx.el(T, "color", color, 0, ONE)),
    ];
    let attrs = vec![attr("", "version", int(), true), attr(X, "lang", string(), false)];
    let order_type = fx.complex(None, Some(seq(items)), attrs);
    let order = fx.global(T, "Order", TypeRef::Type(order_type));
    let msg = fx.doc(order);
    (fx.schema, msg)
}

/// An rpc message `t:Add(a: int, b: string, line: LineType-like)`, literal or encoded.
pub(crate) fn rpc(body_use: Use) -> (Schema, Message) {
    let mut fx = Fx::default();
    let items = vec![
        el(fx.el("", "sku", string(), 1, ONE)),
        el(fx.el("", "qty", int(), 1, ONE)),
    ];
    let line = fx.complex(Some("Line"), Some(seq(items)), vec![]);
    let part = |name: &str, ty: TypeRef| Part {
        name: name.into(),
        kind: PartKind::Type(ty),
    };
    let msg = Message {
        element: None,
        rpc_wrapper: Some(QName::new(T, "Add")),
        parts: vec![
            part("a", int()),
            part("b", string()),
            part("line", TypeRef::Type(line)),
        ],
        body_use,
        headers: Vec::new(),
    };
    (fx.schema, msg)
}
