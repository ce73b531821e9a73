// app/static/js/chat.js
class ChatApp {
  constructor() {
    this.ws = null;
    this.currentRoom = null;
    this.currentUser = null;
    this.typingUsers = new Set();
    this.typingTimeout = null;

    this.initializeElements();
    this.setupEventListeners();
    this.loadRooms();
    this.setupNotifications();
  }

  initializeElements() {
    this.roomList = document.getElementById('roomList');
    this.messagesContainer = document.getElementById('messagesContainer');
    this.messageInput = document.getElementById('messageInput');
    this.sendButton = document.getElementById('sendButton');
    this.currentRoomName = document.getElementById('currentRoomName');
    this.connectionStatus = document.getElementById('connectionStatus');
    this.onlineUsers = document.getElementById('onlineUsers');
    this.typingIndicator = document.getElementById('typingIndicator');
  }

  setupEventListeners() {
    this.sendButton.addEventListener('click', () => this.sendMessage());
    this.messageInput.addEventListener('keypress', (e) => {
      if (e.key === 'Enter') {
        this.sendMessage();
      } else {
        this.handleTyping();
      }
    });

    this.messageInput.addEventListener('input', () => this.handleTyping());
  }

  async loadRooms() {
    try {
      const response = await fetch('/api/chat/rooms');
      const rooms = await response.json();

      this.roomList.innerHTML = '';
      rooms.forEach((room) => {
        const roomElement = document.createElement('div');
        roomElement.className = 'room-item';
        roomElement.textContent = room.name;
        roomElement.onclick = () => this.joinRoom(room.id, room.name);
        this.roomList.appendChild(roomElement);
      });
    } catch (error) {
      console.error('Error loading rooms:', error);
    }
  }

  joinRoom(roomId, roomName) {
    if (this.currentRoom === roomId) return;

    // Desconectar de sala actual
    if (this.ws) {
      this.ws.close();
    }

    this.currentRoom = roomId;
    this.currentRoomName.textContent = roomName;

    // Limpiar mensajes
    this.messagesContainer.innerHTML = '';

    // Habilitar input
    this.messageInput.disabled = false;
    this.sendButton.disabled = false;

    // Actualizar UI
    document.querySelectorAll('.room-item').forEach((item) => {
      item.classList.remove('active');
    });
    event.target.classList.add('active');

    // Conectar WebSocket
    this.connectWebSocket(roomId);
  }

  connectWebSocket(roomId) {
    const token = localStorage.getItem('access_token');
    const wsUrl = `ws://localhost:8000/ws/chat/${roomId}${
      token ? `?token=${token}` : ''
    }`;

    this.updateConnectionStatus('connecting');

    this.ws = new WebSocket(wsUrl);

    this.ws.onopen = () => {
      console.log('WebSocket connected');
      this.updateConnectionStatus('connected');
    };

    this.ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      this.handleWebSocketMessage(data);
    };

    this.ws.onclose = () => {
      console.log('WebSocket disconnected');
      this.updateConnectionStatus('disconnected');

      // Reconectar después de 3 segundos
      setTimeout(() => {
        if (this.currentRoom) {
          this.connectWebSocket(this.currentRoom);
        }
      }, 3000);
    };

    this.ws.onerror = (error) => {
      console.error('WebSocket error:', error);
      this.updateConnectionStatus('disconnected');
    };
  }

  handleWebSocketMessage(data) {
    switch (data.type) {
      case 'message':
        this.displayMessage(data.data);
        break;

      case 'typing':
        this.handleTypingIndicator(data.data);
        break;

      case 'user_presence':
        this.updateUserPresence(data.data);
        break;

      case 'pong':
        // Heartbeat response
        break;

      default:
        console.log('Unknown message type:', data.type);
    }
  }

  displayMessage(messageData) {
    const messageElement = document.createElement('div');
    messageElement.className = `message ${
      messageData.user_id === this.currentUser?.id ? 'own' : 'other'
    }`;

    messageElement.innerHTML = `
            <div class="message-header">
                ${messageData.username} - ${new Date(
      messageData.created_at
    ).toLocaleTimeString()}
            </div>
            <div>${this.escapeHtml(messageData.content)}</div>
        `;

    this.messagesContainer.appendChild(messageElement);
    this.messagesContainer.scrollTop = this.messagesContainer.scrollHeight;
  }

  sendMessage() {
    const content = this.messageInput.value.trim();
    if (!content || !this.ws) return;

    this.ws.send(
      JSON.stringify({
        type: 'chat_message',
        content: content,
      })
    );

    this.messageInput.value = '';
    this.clearTyping();
  }

  handleTyping() {
    if (!this.ws) return;

    // Enviar indicador de escritura
    this.ws.send(
      JSON.stringify({
        type: 'typing',
        is_typing: true,
      })
    );

    // Limpiar timeout anterior
    if (this.typingTimeout) {
      clearTimeout(this.typingTimeout);
    }

    // Programar limpieza de indicador
    this.typingTimeout = setTimeout(() => {
      this.clearTyping();
    }, 3000);
  }

  clearTyping() {
    if (!this.ws) return;

    this.ws.send(
      JSON.stringify({
        type: 'typing',
        is_typing: false,
      })
    );
  }

  handleTypingIndicator(data) {
    if (data.is_typing) {
      this.typingUsers.add(data.username);
    } else {
      this.typingUsers.delete(data.username);
    }

    this.updateTypingDisplay();
  }

  updateTypingDisplay() {
    if (this.typingUsers.size === 0) {
      this.typingIndicator.style.display = 'none';
    } else {
      const users = Array.from(this.typingUsers);
      let text;

      if (users.length === 1) {
        text = `${users[0]} está escribiendo...`;
      } else if (users.length === 2) {
        text = `${users[0]} y ${users[1]} están escribiendo...`;
      } else {
        text = `${users.length} usuarios están escribiendo...`;
      }

      this.typingIndicator.textContent = text;
      this.typingIndicator.style.display = 'block';
    }
  }

  updateConnectionStatus(status) {
    this.connectionStatus.className = `connection-status status-${status}`;
    this.connectionStatus.textContent = {
      connected: 'Conectado',
      connecting: 'Conectando...',
      disconnected: 'Desconectado',
    }[status];
  }

  updateUserPresence(data) {
    // Actualizar lista de usuarios online
    // Implementar según necesidades
  }

  setupNotifications() {
    if ('Notification' in window) {
      Notification.requestPermission();
    }
  }

  showNotification(title, message) {
    if ('Notification' in window && Notification.permission === 'granted') {
      new Notification(title, {
        body: message,
        icon: '/static/icon.png',
      });
    }

    // Mostrar notificación en pantalla
    const notification = document.createElement('div');
    notification.className = 'notification';
    notification.innerHTML = `<strong>${title}</strong><br>${message}`;
    document.body.appendChild(notification);

    setTimeout(() => {
      notification.remove();
    }, 5000);
  }

  escapeHtml(text) {
    const div = document.createElement('div');
    div.textContent = text;
    return div.innerHTML;
  }
}

// Inicializar aplicación
document.addEventListener('DOMContentLoaded', () => {
  new ChatApp();
});
